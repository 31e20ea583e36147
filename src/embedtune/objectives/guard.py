"""Stop at the first NaN or infinite loss instead of training on (and checkpointing) a broken model."""

from __future__ import annotations

import math

from torch import Tensor, nn

from embedtune.errors import NonFiniteLossError


class FiniteLossGuard(nn.Module):
    """Wraps a single loss: raises :class:`NonFiniteLossError` (naming the loss and the step) before the optimizer
    step when the loss is NaN or infinite. Composite and multi-task losses check each of their parts themselves.

    Inputs: whatever the wrapped loss takes. The trainer's own NaN filter only hides such steps from the logs;
    the weights would still receive the broken gradient.
    """

    def __init__(self, loss: nn.Module, name: str) -> None:
        super().__init__()
        self.loss, self.name = loss, name
        self.step = 0

    @property
    def model(self):  # sentence-transformers looks for .model to swap in a wrapped model; it recurses into .loss
        return self.loss.model

    def set_progress(self, step: int, epoch: float) -> None:
        self.step = step

    def forward(self, sentence_features, labels: Tensor | None = None) -> Tensor:
        value = self.loss(sentence_features, labels)
        number = float(value.detach())
        if not math.isfinite(number):
            raise NonFiniteLossError(f"loss '{self.name}'", self.step, number)
        return value
