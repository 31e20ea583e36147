"""Several tasks on one shared encoder: each batch comes from one task and goes through that task's loss.

sentence-transformers already routes a batch of dataset ``name`` to ``loss[name]`` (a DatasetDict with a dict of
losses) and samples batches round-robin or in proportion to the data sizes; this module adds the task weight
(fixed, or learned from each task's uncertainty) and keeps each task's raw loss for the history.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from embedtune.errors import NonFiniteLossError


class TaskLoss(nn.Module):
    """``weight * L`` of one task, or with ``uncertainty`` ``0.5 * exp(-s) * L + 0.5 * s``, s = log sigma^2 learned.

    Uncertainty weighting (Kendall, Gal and Cipolla, 2018) lets a task whose loss stays noisy or large down-weight
    itself, while the ``+ s`` term stops every weight collapsing to zero. ``loss`` may be a composite returning a
    dict of components; its total is used.
    """

    def __init__(self, name: str, loss: nn.Module, weight: float = 1.0, uncertainty: bool = False) -> None:
        super().__init__()
        self.name, self.weight = name, weight
        self.loss = loss
        self.log_variance = nn.Parameter(torch.zeros(())) if uncertainty else None
        self.raw_sum, self.raw_count = 0.0, 0
        self.step = 0

    @property
    def model(self):  # sentence-transformers looks for .model to swap in a wrapped (DDP) model; it recurses
        return self.loss.model

    def forward(self, sentence_features, labels: Tensor | None = None) -> Tensor:
        raw = self.loss(sentence_features, labels)
        if isinstance(raw, dict):
            raw = torch.stack(list(raw.values())).sum()
        value = float(raw.detach())
        if not math.isfinite(value):
            raise NonFiniteLossError(f"the loss of task '{self.name}'", self.step, value)
        if self.loss.training:
            self.raw_sum, self.raw_count = self.raw_sum + value, self.raw_count + 1
        if self.log_variance is None:
            return self.weight * raw
        return self.weight * (0.5 * torch.exp(-self.log_variance) * raw + 0.5 * self.log_variance)

    def effective_weight(self) -> float:
        if self.log_variance is None:
            return self.weight
        return self.weight * 0.5 * math.exp(-float(self.log_variance.detach()))

    def pop_raw_mean(self) -> float | None:
        mean = self.raw_sum / self.raw_count if self.raw_count else None
        self.raw_sum, self.raw_count = 0.0, 0
        return mean
