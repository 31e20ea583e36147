"""After training, before the final measurement: turn the trained model into the one model/ holds."""

from __future__ import annotations

import logging
from pathlib import Path

from embedtune.config.methods import StrategyConfig
from embedtune.modeling.interpolation import interpolate_weights
from embedtune.modeling.strategies import merge_lora
from embedtune.rundir import save_model_atomic

logger = logging.getLogger("embedtune")


def finalize_model(
    model, strategy: StrategyConfig, adapter_dir: Path, base_state: dict | None, interpolate_base: float | None
) -> None:
    """In place: LoRA's adapter is saved to ``adapter_dir`` (trained, uninterpolated) and merged when configured;
    with ``base_state`` (the untuned weights) the model moves to base + ``interpolate_base`` x (tuned - base)."""
    if strategy.name == "lora":
        save_model_atomic(model, adapter_dir)
        if strategy.merge_lora:
            merge_lora(model)
    if base_state is not None:
        interpolate_weights(model, base_state, interpolate_base)
        logger.info("model/ = base + %.2f x (tuned - base) (WiSE-FT)", interpolate_base)
