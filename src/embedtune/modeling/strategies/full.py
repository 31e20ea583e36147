"""full: every weight trains."""

from __future__ import annotations

from typing import ClassVar, Literal

from embedtune.config.methods import STRATEGIES, StrategyConfig


@STRATEGIES.register
class FullStrategyConfig(StrategyConfig):
    """All weights train (training.unfreeze may unfreeze the encoder's layers progressively)."""

    name: Literal["full"] = "full"

    allows_unfreezing: ClassVar = True
    summary: ClassVar = "all weights train"
