"""A NaN loss stops training at once, names the loss and the step, keeps the last good checkpoint, exits 4."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from helpers import cli, run_config
from safetensors.torch import load_file

from embedtune.config import parse_config
from embedtune.errors import NonFiniteLossError
from embedtune.pipeline import run_training


def poison_after(monkeypatch, calls: int) -> None:
    """Make the cosine loss return NaN from its ``calls``-th call on."""
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    original = CosineSimilarityLoss.forward
    seen = {"n": 0}

    def forward(self, features, labels):
        seen["n"] += 1
        value = original(self, features, labels)
        return value * float("nan") if seen["n"] >= calls else value

    monkeypatch.setattr(CosineSimilarityLoss, "forward", forward)


def test_nan_stops_at_its_step_and_keeps_good_checkpoints(tmp_path, tiny_model_dir, monkeypatch):
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "cosine"})  # eval and save every 3 steps
    poison_after(monkeypatch, 5)
    with pytest.raises(NonFiniteLossError, match="loss 'cosine' is nan at step 4"):
        run_training(parse_config(raw), tmp_path / "run")
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["state"] == "failed" and "NonFiniteLossError" in state["reason"]
    assert not (tmp_path / "run" / "model").exists()
    checkpoint = tmp_path / "run" / "checkpoints" / "checkpoint-3"
    weights = load_file(str(checkpoint / "model.safetensors"))
    assert all(torch.isfinite(tensor).all() for tensor in weights.values())


def test_cli_exits_4_with_one_line(tmp_path, tiny_model_dir, monkeypatch, capsys):
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "cosine"})
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    poison_after(monkeypatch, 2)
    code, _, err = cli(monkeypatch, capsys, "train", str(config), "-o", str(tmp_path / "run"))
    message = err[err.index("error:") :].strip()  # progress bars may precede it on the same terminal line
    assert code == 4 and err.count("error:") == 1 and "\n" not in message
    assert message.startswith("error: loss 'cosine' is nan at step 1") and "Traceback" not in err
