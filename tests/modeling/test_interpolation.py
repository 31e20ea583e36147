"""WiSE-FT weight interpolation: exact endpoints and midpoint, shape checks, in a run and on the command line."""

from __future__ import annotations

import pytest
import torch
from helpers import cli, run_config
from sentence_transformers import SentenceTransformer

from embedtune.config import parse_config
from embedtune.errors import ConfigError, UserError
from embedtune.modeling.interpolation import interpolate_weights, state_copy
from embedtune.pipeline import run_training


def test_alpha_gives_the_exact_point_between_base_and_tuned():
    base = torch.nn.Linear(3, 2)
    tuned = torch.nn.Linear(3, 2)
    start, end = state_copy(base), state_copy(tuned)
    interpolate_weights(tuned, start, 0.25)
    torch.testing.assert_close(tuned.weight, start["weight"] + 0.25 * (end["weight"] - start["weight"]))
    interpolate_weights(tuned, start, 0.0)
    torch.testing.assert_close(tuned.weight, start["weight"])
    with pytest.raises(UserError, match="shape"):
        interpolate_weights(torch.nn.Linear(3, 4), start, 0.5)
    with pytest.raises(UserError, match=r"in \[0, 1\]"):
        interpolate_weights(tuned, start, 1.5)


def test_run_saves_the_interpolated_model(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "cosine"})
    full = run_training(parse_config(raw), tmp_path / "full")
    raw["training"]["interpolate_base"] = 0.5
    run_training(parse_config(raw), tmp_path / "half")
    base = SentenceTransformer(str(tiny_model_dir), device="cpu").state_dict()
    tuned = SentenceTransformer(str(full.output_dir / "model"), device="cpu").state_dict()
    half = SentenceTransformer(str(tmp_path / "half" / "model"), device="cpu").state_dict()
    name = next(k for k in base if "encoder.layer.1" in k and k.endswith("weight"))
    torch.testing.assert_close(half[name], base[name] + 0.5 * (tuned[name] - base[name]), atol=1e-6, rtol=1e-5)
    raw["strategy"] = {"name": "frozen"}
    with pytest.raises(ConfigError, match="interpolate_base needs"):
        parse_config(raw)


def test_cli_interpolates_a_run(monkeypatch, capsys, tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "cosine"})
    run = run_training(parse_config(raw), tmp_path / "run").output_dir
    out = tmp_path / "wise"
    # no --base: a run dir's base is its own model.name (the bundled default here would be another model)
    code, stdout, err = cli(monkeypatch, capsys, "interpolate", str(run), "-o", str(out), "--alpha", "0")
    assert code == 0 and "base + 0 x" in stdout and str(tiny_model_dir) in stdout, err
    base = SentenceTransformer(str(tiny_model_dir), device="cpu").encode(["a dog"])
    torch.testing.assert_close(
        torch.tensor(SentenceTransformer(str(out), device="cpu").encode(["a dog"])),
        torch.tensor(base),
        atol=1e-6,
        rtol=1e-5,
    )


def test_a_tied_weight_is_blended_once():
    import torch

    from embedtune.modeling.interpolation import interpolate_weights, state_copy

    model = torch.nn.Module()
    model.a = torch.nn.Linear(2, 2, bias=False)
    model.b = torch.nn.Linear(2, 2, bias=False)
    model.b.weight = model.a.weight  # tied, as T5's shared and embed_tokens
    base = state_copy(model)
    with torch.no_grad():
        model.a.weight.add_(1.0)
    interpolate_weights(model, base, 0.5)
    assert torch.allclose(model.a.weight, base["a.weight"] + 0.5)
