"""Training objectives: a registry of sentence-transformers losses plus the data checks each one needs."""

from __future__ import annotations

from embedtune.objectives.build import build_loss, data_kind, prepare_training_data
from embedtune.objectives.registry import LOSSES, LossSpec, get_loss_spec, register_loss

__all__ = ["LOSSES", "LossSpec", "build_loss", "data_kind", "get_loss_spec", "prepare_training_data", "register_loss"]
