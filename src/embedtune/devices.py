"""Where a run computes and at which precision: one choice, honoured wherever a model runs.

``auto`` takes CUDA, then Apple's MPS, then the CPU. Under torchrun / accelerate each process takes the GPU of its
``LOCAL_RANK``. Precision is checked against the device before anything is written: fp16 mixed precision needs CUDA
(its loss scaling is CUDA's); bf16 needs an Ampere-or-newer GPU, MPS on macOS 14+, or a CPU (where torch runs it,
slowly without AMX). The Trainer does the mixed-precision work itself (autocast, scaler).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from embedtune.errors import UserError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Machine:
    """What torch finds: which device kinds are usable and what the GPU can do (a plain record, so tests can fake
    a GPU machine on a CPU one)."""

    cuda: bool = False
    mps: bool = False
    cuda_bf16: bool = False
    mps_bf16: bool = False
    cuda_capability: tuple[int, int] = (0, 0)

    @classmethod
    def found(cls) -> Machine:
        import torch

        cuda = torch.cuda.is_available()
        mps = torch.backends.mps.is_available()
        if cuda and "LOCAL_RANK" in os.environ:  # probe this rank's GPU, not GPU 0 from every rank
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        capability = torch.cuda.get_device_capability() if cuda else (0, 0)
        return cls(
            cuda=cuda,
            mps=mps,
            cuda_bf16=capability >= (8, 0),  # native bf16 (is_bf16_supported() also says yes to emulation)
            mps_bf16=mps and torch.backends.mps.is_macos_or_newer(14, 0),
            cuda_capability=capability,
        )

    def has(self, device: str) -> bool:
        return device == "cpu" or getattr(self, device)


def resolve_device(requested: str = "auto", machine: Machine | None = None, field: str = "training.device") -> str:
    """``auto`` -> cuda, mps or cpu, whichever this machine has first; an explicit device must exist."""
    if requested not in DEVICES:
        raise UserError(f"{field}: '{requested}' is not a device; use one of {', '.join(DEVICES)}")
    machine = machine or Machine.found()
    if requested == "auto":
        return next(device for device in ("cuda", "mps", "cpu") if machine.has(device))
    if not machine.has(requested):
        usable = ", ".join(d for d in ("cuda", "mps", "cpu") if machine.has(d))
        raise UserError(f"{field}: '{requested}' is not available on this machine (torch finds: {usable})")
    return requested


def check_precision(precision: str, device: str, machine: Machine | None = None) -> None:
    """One line saying why ``precision`` cannot run on ``device`` (a resolved device), or nothing."""
    machine = machine or Machine.found()
    if precision == "fp16" and device != "cuda":
        raise UserError(f"training.precision: fp16 needs a CUDA GPU (this run computes on {device}); use bf16 or fp32")
    if precision == "bf16" and device == "cuda" and not machine.cuda_bf16:
        raise UserError("training.precision: bf16 needs an Ampere or newer GPU (this one has no bf16); use fp16")
    if precision == "bf16" and device == "mps" and not machine.mps_bf16:
        raise UserError("training.precision: bf16 on mps needs macOS 14 or newer; use fp32")


def tf32_on(device: str, machine: Machine | None = None) -> bool | None:
    """TF32 matmuls where the GPU has them (Ampere, compute capability 8, and newer); None leaves torch's default."""
    machine = machine or Machine.found()
    return True if device == "cuda" and machine.cuda_capability >= (8, 0) else None


def set_tf32(device: str) -> None:
    """The TF32 policy of the whole run, set before the baseline: baseline and final are measured alike."""
    if tf32_on(device):
        import torch

        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


MULTI_PROCESS_MIN = 20_000  # texts: below this a process pool costs more to start than it saves


def encode_devices(model, count: int) -> list[str] | None:
    """Every GPU for a large encode (sentence-transformers' multi-process pool, one process per GPU), else None: the
    model's own device. On a CPU one process already uses every core; under torchrun each rank keeps its own GPU."""
    import torch

    device = getattr(model, "device", None)  # the evaluation cache stands in for a model: its model chooses
    if count < MULTI_PROCESS_MIN or getattr(device, "type", None) != "cuda" or "WORLD_SIZE" in os.environ:
        return None
    gpus = torch.cuda.device_count()
    return [f"cuda:{index}" for index in range(gpus)] if gpus > 1 else None


def torch_device(device: str) -> str:
    """The torch device string for this process: under a multi-process launch each rank takes its own GPU."""
    local_rank = os.environ.get("LOCAL_RANK")
    if device == "cuda" and local_rank is not None:
        return f"cuda:{int(local_rank)}"
    return device


__all__ = [
    "DEVICES",
    "PRECISIONS",
    "Machine",
    "check_precision",
    "resolve_device",
    "set_tf32",
    "tf32_on",
    "torch_device",
]
