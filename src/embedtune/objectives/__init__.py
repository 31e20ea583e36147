"""Training objectives: the loss registry (one module per loss in ``objectives.losses``) and the data checks."""

from __future__ import annotations

from embedtune.config.methods import LOSSES, LossConfig
from embedtune.objectives.build import build_loss, data_kind, prepare_training_data

register_loss = LOSSES.register

__all__ = ["LOSSES", "LossConfig", "build_loss", "data_kind", "prepare_training_data", "register_loss"]
