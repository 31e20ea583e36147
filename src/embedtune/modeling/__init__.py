"""Loading models and applying training strategies (full, LoRA, frozen encoder + projection)."""

from __future__ import annotations

from embedtune.modeling.load import default_model_path, load_model, resolve_model_path
from embedtune.modeling.strategies import apply_strategy, parameter_counts

__all__ = ["apply_strategy", "default_model_path", "load_model", "parameter_counts", "resolve_model_path"]
