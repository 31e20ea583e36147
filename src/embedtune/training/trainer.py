"""The trainer: sentence-transformers' own, with an exception to weight decay and one to model swapping."""

from __future__ import annotations

import re

from sentence_transformers import SentenceTransformerTrainer

from embedtune.modeling.frozen_cache import trains_on_cache
from embedtune.modeling.layers import LOG_VARIANCE_PATTERN


class Trainer(SentenceTransformerTrainer):
    """Uncertainty weighting's learned log-variances get no weight decay: decay would pull every task towards
    log-variance 0 (weight 1/2) whatever its noise. Their lr comes from ``training.task_weighting_lr``."""

    def get_decay_parameter_names(self, model) -> list[str]:
        return [name for name in super().get_decay_parameter_names(model) if not re.search(LOG_VARIANCE_PATTERN, name)]

    def override_model_in_loss(self, loss, model):
        """A loss training the frozen strategy's head on cached encodings keeps its head model: the trainer would
        put the full model back in at the first step, and the encoder would run every step again."""
        if trains_on_cache(getattr(loss, "model", None)):
            return loss
        return super().override_model_in_loss(loss, model)
