"""Each strategy and each loss trains the tiny model; the saved model reloads with plain sentence-transformers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import assert_same_final_metrics, run_config, simulate_crash

from embedtune.config import parse_config
from embedtune.pipeline import run_training

TEST_CASES = [
    ("full", {"name": "full"}, {"name": "cosent"}, True),
    ("full-cosine", {"name": "full"}, {"name": "cosine"}, True),
    ("full-mnrl", {"name": "full"}, {"name": "mnrl"}, False),
    ("full-cached-mnrl", {"name": "full"}, {"name": "cached_mnrl", "mini_batch_size": 4}, False),
    ("full-contrastive", {"name": "full"}, {"name": "contrastive", "margin": 0.3}, False),
    ("full-matryoshka", {"name": "full"}, {"name": "mnrl", "matryoshka_dims": [64, 32, 16]}, False),
    ("lora", {"name": "lora", "lora_r": 4, "lora_alpha": 8}, {"name": "mnrl"}, False),
    ("frozen-linear", {"name": "frozen", "projection_learning_rate": 5e-3}, {"name": "cosent"}, True),
    ("frozen-mlp", {"freeze_base": True, "projection": "mlp", "projection_dim": 16}, {"name": "contrastive"}, False),
]
SENTENCES = ["the sun is warm today", "a man plays football", "she plays the piano", "he cooks rice for dinner"]


@pytest.mark.parametrize("case", TEST_CASES, ids=[case[0] for case in TEST_CASES])
def test_strategy_and_loss_train_and_reload(case, tmp_path, tiny_model_dir):
    from sentence_transformers import SentenceTransformer

    _, strategy, loss, scored = case
    config = parse_config(run_config(tmp_path, tiny_model_dir, strategy, loss, scored))
    result = run_training(config, tmp_path / "run")

    run = tmp_path / "run"
    for name in ("model", "config.yaml", "history.jsonl", "metrics.json", "report.md", "report.html"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics) == {"baseline", "final"}
    assert set(metrics["final"]["toy"]) >= {"toy_roc_auc", "toy_f1"}

    reloaded = SentenceTransformer(str(run / "model"), device="cpu")
    in_memory = result.model.encode(SENTENCES, convert_to_numpy=True)
    np.testing.assert_allclose(reloaded.encode(SENTENCES, convert_to_numpy=True), in_memory, atol=1e-5)
    untuned = SentenceTransformer(str(tiny_model_dir), device="cpu").encode(SENTENCES, convert_to_numpy=True)
    if untuned.shape == in_memory.shape:
        assert not np.allclose(untuned, in_memory, atol=1e-4), "training changed nothing"

    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    train_rows = [row for row in history if row["kind"] == "train"]
    assert train_rows and all({"step", "epoch", "lr", "loss"} <= set(row) for row in train_rows)
    assert any(row["kind"] == "eval" and "toy_roc_auc" in row for row in history)


def test_lora_saves_adapter_and_merged_model(tmp_path, tiny_model_dir):
    config = parse_config(run_config(tmp_path, tiny_model_dir, {"name": "lora", "lora_r": 4}, {"name": "mnrl"}, False))
    run_training(config, tmp_path / "run")
    adapter_files = {p.name for p in (tmp_path / "run" / "adapter").rglob("*")}
    model_files = {p.name for p in (tmp_path / "run" / "model").rglob("*")}
    assert "adapter_config.json" in adapter_files
    assert "adapter_config.json" not in model_files


def test_frozen_strategy_keeps_encoder_weights(tmp_path, tiny_model_dir):
    from sentence_transformers import SentenceTransformer

    config = parse_config(run_config(tmp_path, tiny_model_dir, {"name": "frozen"}, {"name": "cosent"}))
    result = run_training(config, tmp_path / "run")
    base = SentenceTransformer(str(tiny_model_dir), device="cpu")
    tuned_encoder = result.model[0].auto_model.state_dict()
    for name, tensor in base[0].auto_model.state_dict().items():
        assert np.array_equal(tensor.numpy(), tuned_encoder[name].numpy()), name


def test_seeded_run_repeats_exactly(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, {"name": "full"}, {"name": "mnrl"}, False)
    first = run_training(parse_config(raw), tmp_path / "a")
    second = run_training(parse_config(raw), tmp_path / "b")
    assert (tmp_path / "a" / "metrics.json").read_text() == (tmp_path / "b" / "metrics.json").read_text()
    assert first.metrics["final"] != first.metrics["baseline"]
    assert second.metrics == first.metrics


def test_loss_that_does_not_fit_the_data_is_rejected_before_writing(tmp_path, tiny_model_dir):
    from embedtune.errors import ConfigError

    config = parse_config(run_config(tmp_path, tiny_model_dir, None, {"name": "contrastive"}, scored=True))
    with pytest.raises(ConfigError, match="contrastive.*binary"):
        run_training(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_resume_continues_from_the_last_checkpoint(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, {"name": "full"}, {"name": "cosent"}, True)
    raw["training"].update(save_best_model=False, save_total_limit=3, keep_checkpoints=True)
    straight = run_training(parse_config(raw), tmp_path / "straight")

    run = tmp_path / "crashed"
    run_training(parse_config(raw), run)
    simulate_crash(run, keep_checkpoints=1)  # what a crash after step 3 leaves behind
    with (run / "history.jsonl").open("a", encoding="utf-8") as history:
        history.write('{"kind": "train", "step": 5, "lo')  # killed while writing a record
    resumed = run_training(parse_config(raw), run, resume=True)
    assert_same_final_metrics(straight.metrics, resumed.metrics)
    steps = [
        row["step"]
        for row in map(json.loads, (run / "history.jsonl").read_text().splitlines())
        if row["kind"] == "train"
    ]
    assert steps == sorted(set(steps)) and steps[-1] == 6


def test_a_resume_keeps_early_stoppings_patience_count(tmp_path, tiny_model_dir):
    """Straight, the toy metric peaks at step 7, is level at 8 and lower at 9: patience 2 stops at 9. Resumed from
    step 8's checkpoint, the run must remember that step 8 already used one patience (it restarted from 0 and
    trained on)."""
    training = {"max_steps": 12, "eval_steps": 1, "logging_steps": 1, "early_stopping_patience": 2}
    raw = run_config(tmp_path, tiny_model_dir, training={**training, "save_total_limit": 20, "keep_checkpoints": True})

    def evaluated(run):
        rows = map(json.loads, (run / "history.jsonl").read_text().splitlines())
        return sorted({row["step"] for row in rows if row["kind"] == "eval"})

    run_training(parse_config(raw), tmp_path / "straight")
    assert evaluated(tmp_path / "straight") == list(range(1, 10))
    run = tmp_path / "crashed"
    run_training(parse_config(raw), run)
    simulate_crash(run, keep_checkpoints=8)
    run_training(parse_config(raw), run, resume=True)
    assert evaluated(run) == list(range(1, 10))


def test_resume_without_checkpoints_is_a_user_error(tmp_path, tiny_model_dir):
    from embedtune.errors import UserError

    config = parse_config(run_config(tmp_path, tiny_model_dir))
    with pytest.raises(UserError, match="nothing to resume"):
        run_training(config, tmp_path / "empty", resume=True)


def test_existing_run_dir_is_not_overwritten_without_permission(tmp_path, tiny_model_dir):
    from embedtune.errors import UserError

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "precious.txt").write_text("keep me")
    config = parse_config(run_config(tmp_path, tiny_model_dir))
    with pytest.raises(UserError, match="--overwrite"):
        run_training(config, tmp_path / "run")
    assert (tmp_path / "run" / "precious.txt").read_text() == "keep me"


def test_early_stopping_ends_the_run_when_the_metric_stalls(tmp_path, tiny_model_dir):
    raw = run_config(
        tmp_path,
        tiny_model_dir,
        training={"lr": 1e-12, "max_steps": 30, "eval_steps": 3, "early_stopping_patience": 1},
    )
    run_training(parse_config(raw), tmp_path / "run")
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert max(row["step"] for row in history) == 6


def test_unknown_metric_for_best_model_lists_the_measured_ones(tmp_path, tiny_model_dir):
    from embedtune.errors import ConfigError

    raw = run_config(tmp_path, tiny_model_dir, training={"metric_for_best_model": "toy_spearman"})
    with pytest.raises(ConfigError, match="toy_roc_auc"):
        run_training(parse_config(raw), tmp_path / "run")


def test_gradient_accumulation_with_in_batch_negatives_warns(tmp_path, tiny_model_dir, caplog):
    raw = run_config(
        tmp_path,
        tiny_model_dir,
        loss={"name": "mnrl"},
        scored=False,
        training={"gradient_accumulation_steps": 2, "max_steps": 1},
    )
    with caplog.at_level("WARNING", logger="embedtune"):
        run_training(parse_config(raw), tmp_path / "run")
    assert "cached_mnrl" in caplog.text


def test_pickled_weights_are_refused_and_safetensors_load(tmp_path, tiny_model_dir):
    import shutil

    import torch
    from safetensors.torch import load_file

    from embedtune.errors import UserError
    from embedtune.modeling.load import load_model

    folder = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, folder)
    weights = folder / "model.safetensors"
    torch.save(load_file(str(weights)), folder / "pytorch_model.bin")
    weights.unlink()
    with pytest.raises(UserError, match=r"pytorch_model\.bin: pickle-based weights are not loaded"):
        load_model(str(folder))
    assert load_model(str(tiny_model_dir)) is not None
