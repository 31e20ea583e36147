"""Many processes (``torchrun`` / ``accelerate launch``): rank 0 checks, measures and writes; the others train.

The launchers set ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK``; the process group is started here (gloo on CPU, nccl on
CUDA) before the Trainer would, so that rank 0's checks and baseline can reach the other ranks first: either the
resolved config and the metric to select on, or the one-line error every rank then stops with.
"""

from __future__ import annotations

import os
from typing import Any

from embedtune.errors import UserError


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
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")


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


__all__ = ["from_main", "is_main", "start_processes", "stop_processes", "world_size"]
