"""Weight-space interpolation between the untuned and the tuned model (WiSE-FT, Wortsman et al., 2022).

``base + alpha * (tuned - base)``: fine-tuning moves the weights along a path on which, near its end, in-domain
quality is nearly flat while general quality recovers quickly towards the base. Interpolating keeps most of the domain
gain and gives back much of what was forgotten, at no training cost.
"""

from __future__ import annotations

from pathlib import Path

import torch

from embedtune.errors import UserError
from embedtune.modeling.load import DEFAULT_MODEL, model_of


def interpolate_weights(tuned, base_state: dict[str, torch.Tensor], alpha: float) -> None:
    """Set ``tuned``'s weights in place to ``base + alpha * (tuned - base)`` for every floating-point tensor.

    Both must have the same architecture (same names and shapes): a model with a new head or a different size
    has no base weights to return to.
    """
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"interpolation alpha must be in [0, 1], got {alpha}")
    state = tuned.state_dict()
    missing = sorted(set(state) ^ set(base_state))
    if missing:
        raise UserError(f"cannot interpolate: the models differ in {len(missing)} tensors (e.g. '{missing[0]}')")
    seen: set[int] = set()
    for name, value in state.items():
        if value.numel() and value.data_ptr() in seen:  # a tied weight (T5's shared embeddings): blend it once
            continue
        seen.add(value.data_ptr())
        base = base_state[name]
        if base.shape != value.shape:
            raise UserError(f"cannot interpolate: '{name}' has shape {tuple(value.shape)} vs {tuple(base.shape)}")
        if value.is_floating_point():
            value.copy_(base.to(value.dtype) + alpha * (value - base.to(value.dtype)))


def state_copy(model) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def start_of(tuned: str) -> str:
    """The model a tuned one started from: a run dir's own ``model.name`` (interpolating towards another model of
    the same shape would run and be wrong); a bare model folder records no start, so the bundled default."""
    from embedtune.config.loading import load_run_config

    if model_of(tuned) == tuned:  # not a finished run dir
        return DEFAULT_MODEL
    return load_run_config(Path(tuned)).model.name
