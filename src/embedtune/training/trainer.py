"""The trainer: sentence-transformers' own, with one exception to weight decay."""

from __future__ import annotations

import re

from sentence_transformers import SentenceTransformerTrainer

from embedtune.modeling.layers import LOG_VARIANCE_PATTERN


class Trainer(SentenceTransformerTrainer):
    """Uncertainty weighting's learned log-variances get no weight decay: decay would pull every task towards
    log-variance 0 (weight 1/2) whatever its noise. Their lr comes from ``training.task_weighting_lr``."""

    def get_decay_parameter_names(self, model) -> list[str]:
        return [name for name in super().get_decay_parameter_names(model) if not re.search(LOG_VARIANCE_PATTERN, name)]
