"""Training strategies: which weights a run updates. One module per strategy, registered with ``STRATEGIES``.

``full`` trains everything. ``lora`` delegates to peft through ``SentenceTransformer.add_adapter``.
``frozen`` freezes the encoder and trains a projection head (``Dense``, a stock sentence-transformers module,
so the saved model loads anywhere) inserted after pooling. Adding a strategy: its module here (a
``StrategyConfig`` subclass decorated with ``@STRATEGIES.register``) and its name in ``CATALOG``.
"""

from __future__ import annotations

import logging
from importlib import import_module

from embedtune.config.methods import STRATEGIES, StrategyConfig

#: One line per strategy registers it; the order is the config reference's.
CATALOG = ("full", "lora", "frozen")

for _module in CATALOG:
    import_module(f"{__name__}.{_module}")

from embedtune.modeling.strategies.lora import merge_lora  # noqa: E402

logger = logging.getLogger("embedtune")

__all__ = ["STRATEGIES", "apply_strategy", "check_strategy", "merge_lora", "parameter_counts"]


def apply_strategy(model, config: StrategyConfig, learning_rate: float) -> dict[str, float]:
    """Prepare ``model`` in place for the strategy; returns extra learning rates by parameter-name pattern."""
    lr_mapping = config.apply(model)
    trainable, total = parameter_counts(model)
    logger.info(
        "strategy %s: %s of %s parameters trainable (%.2f%%)",
        config.name,
        f"{trainable:,}",
        f"{total:,}",
        100 * trainable / max(total, 1),
    )
    return lr_mapping


def check_strategy(model, config: StrategyConfig) -> None:
    """What can be checked against the loaded model before anything is written (e.g. LoRA's target modules)."""
    config.check(model)


def parameter_counts(model) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
