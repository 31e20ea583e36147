"""Many processes (``torchrun`` / ``accelerate launch``): rank 0 checks, measures and writes; the others train.

The launchers set ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK``; the process group is started here (gloo on CPU, nccl on
CUDA) before the Trainer would, so that rank 0's checks and baseline can reach the other ranks first: either the
resolved config and the metric to select on, or the one-line error every rank then stops with.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from transformers import TrainerCallback

from embedtune.errors import UserError

WAIT = timedelta(hours=3)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    """Rank 0, or the only process."""
    return int(os.environ.get("RANK", "0")) == 0


def start_processes(device: str) -> None:
    """Join the launcher's process group (no-op for one process, or when already joined)."""
    if world_size() == 1:
        return
    import torch
    import torch.distributed as dist

    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        # The other ranks wait while rank 0 loads and measures the baseline: longer than the 10-30 min defaults.
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo", timeout=WAIT)


def from_main(compute) -> Any:
    """Rank 0's ``compute()`` on every rank. A :class:`UserError` on rank 0 stops every rank: rank 0 raises it (the
    CLI prints its one line), the others exit with the same code and say nothing more."""
    if world_size() == 1:
        return compute()
    import torch.distributed as dist

    box: list[Any] = [None]
    if is_main():
        try:
            box[0] = ("ok", compute())
        except UserError as error:
            box[0] = ("error", error)
        except Exception as error:  # a crash on rank 0 must not leave the others waiting for it
            box[0] = ("crash", error)
    dist.broadcast_object_list(box, src=0)
    kind, value = box[0]
    if kind != "ok":
        if is_main():
            raise value
        raise SystemExit(2 if kind == "error" else 1)
    return value


def stop_processes() -> None:
    """Leave the process group at the end of a run (each rank on its own; not a collective)."""
    if world_size() == 1:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def loss_parameter_sync(loss, model) -> list:
    """The callback averaging the gradients of the parameters ``loss`` owns outside ``model`` (none for one
    process, or when the loss owns none)."""
    if world_size() == 1:
        return []
    inside = {id(parameter) for parameter in model.parameters()}
    owned = [p for p in loss.parameters() if p.requires_grad and id(p) not in inside]
    return [SyncLossParameters(owned)] if owned else []


class SyncLossParameters(TrainerCallback):
    """DDP averages the gradients of the model it wraps. Parameters a loss owns (a softmax classifier, learned task
    weights, a distillation projection) are outside it, so each rank would step them on its own gradients and
    drift apart: average them too, before every optimizer step."""

    def __init__(self, parameters: list) -> None:
        self.parameters = parameters

    def on_pre_optimizer_step(self, args, state, control, **kwargs) -> None:
        import torch
        import torch.distributed as dist

        for parameter in self.parameters:
            if parameter.grad is None:  # a task without a batch this step still joins the all-reduce
                parameter.grad = torch.zeros_like(parameter)
            dist.all_reduce(parameter.grad)
            parameter.grad /= dist.get_world_size()


__all__ = [
    "SyncLossParameters",
    "from_main",
    "is_main",
    "loss_parameter_sync",
    "start_processes",
    "stop_processes",
    "world_size",
]
