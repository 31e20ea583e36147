"""embedtune export: the ONNX folder encodes like the model it came from, on its own, and a bad export is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import TOPICS
from helpers import assert_one_line_error, cli

TEXTS = [text for texts in TOPICS.values() for text in texts]


def _reference(model_dir: Path, texts: list[str]) -> np.ndarray:
    from embedtune.modeling.load import load_model

    return load_model(str(model_dir), device="cpu").encode(texts, normalize_embeddings=True)


def test_fp32_export_matches_the_model_and_records_parity(tiny_export, tiny_model_dir):
    from embedtune.serving.onnx_encoder import OnnxEncoder

    parity = json.loads((tiny_export / "parity.json").read_text())
    assert parity["format"] == "onnx" and parity["texts"] == len(TEXTS)
    assert parity["mean_cosine"] > 0.99999 and parity["min_cosine"] > 0.9999
    exported = OnnxEncoder(tiny_export).encode(TEXTS, batch_size=4, normalize=True)
    np.testing.assert_allclose(exported, _reference(tiny_model_dir, TEXTS), atol=1e-5)
    assert sorted(p.name for p in tiny_export.iterdir()) == [
        "embedtune_export.json", "model.onnx", "parity.json", "tokenizer.json", "tokenizer_config.json"
    ]  # fmt: skip


def test_int8_export_is_close_and_smaller(tiny_model_dir, tiny_export, tmp_path):
    from embedtune.serving.export import export_model

    parity = export_model(str(tiny_model_dir), "onnx-int8", tmp_path / "int8", TEXTS, min_mean_cosine=0.9)
    assert 0.9 < parity["mean_cosine"] < 1.0  # quantised: close, not equal
    assert (tmp_path / "int8" / "model.onnx").stat().st_size < (tiny_export / "model.onnx").stat().st_size


def test_export_below_the_cosine_threshold_is_refused_and_leaves_nothing(
    tiny_model_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(monkeypatch, capsys, "export", str(tiny_model_dir), "-o", "new/sub/out", "--format",
                       "onnx-int8", "--min-cosine", "1.0")  # fmt: skip
    assert_one_line_error(code, err, "export refused", "mean cosine")
    assert list(tmp_path.iterdir()) == []  # not even the folders it made for -o
    code, _, err = cli(monkeypatch, capsys, "export", str(tiny_model_dir), "-o", "out", "--min-cosine", "1.5")
    assert_one_line_error(code, err, "--min-cosine 1.5", "between -1 and 1")
    assert list(tmp_path.iterdir()) == []


def test_export_folder_encodes_without_torch(tiny_export):
    """The hot path is onnxruntime + tokenizers: importing torch there fails the child process."""
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "from embedtune.serving.encoder import load_encoder\n"
        f"vectors = load_encoder({str(tiny_export)!r}).encode(['printer jams', 'reset my password'], normalize=True)\n"
        "print(vectors.shape)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(2, 32)"


def test_lora_run_exports_the_merged_model(tiny_model_dir, tiny_export, tmp_path):
    """A run saved with its adapter unmerged loads with peft layers injected: the export folds the adapter in."""
    import onnx
    from helpers import run_config

    from embedtune.config import parse_config
    from embedtune.pipeline import run_training
    from embedtune.serving.export import export_model

    raw = run_config(tmp_path, tiny_model_dir, strategy={"name": "lora", "lora_r": 4, "merge_lora": False})
    run_training(parse_config(raw), tmp_path / "run")
    assert (tmp_path / "run" / "model" / "adapter_config.json").exists()
    parity = export_model(str(tmp_path / "run"), "onnx", tmp_path / "onnx", TEXTS)
    assert parity["mean_cosine"] > 0.99999
    ops = {name: Counter(n.op_type for n in onnx.load(str(folder / "model.onnx")).graph.node)
           for name, folder in (("lora", tmp_path / "onnx"), ("plain", tiny_export))}  # fmt: skip
    assert ops["lora"] == ops["plain"]  # unmerged, each adapted projection would add two MatMuls


@pytest.mark.parametrize("fmt", ["tflite", "ONNX"])
def test_unknown_format_is_one_line(fmt, tiny_model_dir, tmp_path, monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, "export", str(tiny_model_dir), "-o", str(tmp_path / "x"), "--format", fmt)
    assert_one_line_error(code, err, f"--format {fmt}", "onnx-int8")


@pytest.mark.slow
def test_minilm_int8_export_keeps_sts_b(tmp_path, shared_data):
    """The real model: int8 within 0.005 STS-B dev Spearman of fp32 (per-tensor scales would fail the 0.99 check)."""
    from embedtune.serving.export import export_model
    from embedtune.serving.texts import parity_texts, stsb_dev

    parity = export_model("default", "onnx-int8", tmp_path / "int8", parity_texts(None), stsb_dev())
    assert parity["mean_cosine"] >= 0.99
    spearman = parity["stsb_dev_spearman"]
    assert abs(spearman["export"] - spearman["fp32"]) <= 0.005
