"""Device and precision choice (issue 15): the logic a GPU machine runs, checked on a CPU one with a faked Machine."""

from __future__ import annotations

import subprocess

import pytest
from helpers import ROOT

from embedtune.devices import Machine, check_precision, resolve_device, tf32_on, torch_device
from embedtune.errors import UserError

CPU = Machine()
AMPERE = Machine(cuda=True, cuda_bf16=True, cuda_capability=(8, 6))
TURING = Machine(cuda=True, cuda_bf16=False, cuda_capability=(7, 5))
MAC = Machine(mps=True, mps_bf16=True)


@pytest.mark.parametrize(("machine", "expected"), [(CPU, "cpu"), (AMPERE, "cuda"), (MAC, "mps")])
def test_auto_takes_cuda_then_mps_then_cpu(machine, expected):
    assert resolve_device("auto", machine) == expected


def test_an_explicit_device_must_exist_on_the_machine():
    assert resolve_device("cpu", AMPERE) == "cpu"
    with pytest.raises(
        UserError, match=r"training.device: 'cuda' is not available on this machine \(torch finds: cpu\)"
    ):
        resolve_device("cuda", CPU)


@pytest.mark.parametrize(
    ("precision", "device", "machine", "error"),
    [
        ("fp16", "cpu", CPU, "fp16 needs a CUDA GPU"),
        ("fp16", "mps", MAC, "fp16 needs a CUDA GPU"),
        ("bf16", "cuda", TURING, "bf16 needs an Ampere or newer GPU"),
        ("bf16", "mps", Machine(mps=True), "macOS 14"),
        ("fp16", "cuda", TURING, None),
        ("bf16", "cuda", AMPERE, None),
        ("bf16", "cpu", CPU, None),
        ("fp32", "cpu", CPU, None),
    ],
)
def test_precision_is_checked_against_the_device(precision, device, machine, error):
    if error is None:
        check_precision(precision, device, machine)
    else:
        with pytest.raises(UserError, match=error):
            check_precision(precision, device, machine)


def test_tf32_only_on_ampere_or_newer():
    assert tf32_on("cuda", AMPERE) is True
    assert tf32_on("cuda", TURING) is None
    assert tf32_on("cpu", AMPERE) is None


def test_each_rank_takes_its_own_gpu(monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert torch_device("cuda") == "cuda:1"
    assert torch_device("cpu") == "cpu"
    monkeypatch.delenv("LOCAL_RANK")
    assert torch_device("cuda") == "cuda"


@pytest.mark.parametrize(("precision", "bf16", "fp16"), [("fp32", False, False), ("bf16", True, False)])
def test_training_arguments_carry_device_and_precision(tmp_path, precision, bf16, fp16):
    from embedtune.config import TrainingConfig
    from embedtune.training.arguments import training_arguments

    settings = TrainingConfig(precision=precision, gradient_checkpointing=True)
    args = training_arguments(settings, tmp_path, None, False, {}, "cpu")
    assert (args.use_cpu, args.bf16, args.fp16, args.activation_checkpointing) == (True, bf16, fp16, True)
    assert args.report_to == []


def test_no_device_is_hard_coded_in_the_package():
    found = subprocess.run(
        ["grep", "-rn", r'use_cpu=True\|device="cpu"', str(ROOT / "src")], capture_output=True, text=True
    )
    assert found.stdout == ""


def test_a_model_loads_on_the_device_asked_for(tiny_model_dir):
    from embedtune.modeling.load import load_model

    assert load_model(str(tiny_model_dir), device="cpu").device.type == "cpu"
    with pytest.raises(UserError, match="--device: 'gpu' is not a device"):
        load_model(str(tiny_model_dir), device="gpu")


def test_a_resume_may_move_to_another_device_but_not_change_precision(tmp_path):
    from helpers import run_config

    from embedtune.config import dump_config, parse_config, resumed_config
    from embedtune.errors import ConfigError

    raw = run_config(tmp_path, tmp_path)
    (tmp_path / "run").mkdir()
    started = {**raw, "training": {**raw.get("training", {}), "device": "cuda"}}
    (tmp_path / "run" / "config.yaml").write_text(dump_config(parse_config(started)))
    moved = parse_config({**raw, "training": {**raw.get("training", {}), "device": "cpu"}})
    assert resumed_config(tmp_path / "run", moved).training.device == "cpu"
    changed = parse_config({**raw, "training": {**raw.get("training", {}), "precision": "bf16"}})
    with pytest.raises(ConfigError, match=r"training.precision \('fp32' -> 'bf16'\)"):
        resumed_config(tmp_path / "run", changed)


class _Recorder:
    """Stands in for a model: remembers the options encode was called with."""

    def __init__(self, device: str) -> None:
        import torch

        self.device, self.calls = torch.device(device), []

    def encode(self, texts, **options):
        import numpy as np

        self.calls.append(options)
        return np.ones((len(texts), 2), dtype=np.float32)


def test_a_large_encode_uses_every_gpu_with_a_progress_bar(monkeypatch):
    import torch

    from embedtune.devices import MULTI_PROCESS_MIN
    from embedtune.evaluation.embed import encode_unique

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    texts = [f"text {i}" for i in range(MULTI_PROCESS_MIN)]
    gpu, cpu = _Recorder("cuda"), _Recorder("cpu")
    for model in (gpu, cpu):
        encode_unique(model, texts)
        encode_unique(model, texts[:10])
    assert gpu.calls[0]["device"] == ["cuda:0", "cuda:1"] and gpu.calls[0]["show_progress_bar"]
    assert "device" not in gpu.calls[1] and not gpu.calls[1]["show_progress_bar"]  # small: the model's own device
    assert all("device" not in call for call in cpu.calls)  # a CPU: one process already uses every core
