"""The forgetting guard: a retention set measured before and after training, flagged and optionally fatal."""

from __future__ import annotations

import json

import pytest
from helpers import run_config, write_pairs

from embedtune.config import parse_config
from embedtune.errors import ConfigError, ForgettingError
from embedtune.evaluation.retention import RetentionCheck, check_retention
from embedtune.pipeline import run_training


def retention_config(tmp_path, tiny_model_dir, **retention):
    raw = run_config(tmp_path, tiny_model_dir)
    sts = write_pairs(tmp_path / "general.tsv", n=24, seed=5, scored=True)
    raw["retention"] = {
        "data": {"path": str(sts), "task": "sts", "columns": {"label": "label"}, "score_range": [0, 5]},
        **retention,
    }
    return raw


def test_retention_set_is_measured_before_and_after(tmp_path, tiny_model_dir):
    result = run_training(parse_config(retention_config(tmp_path, tiny_model_dir)), tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "retention_spearman" in metrics["baseline"]["retention"]
    assert "retention_spearman" in metrics["final"]["retention"]
    assert result.retention.metric == "retention_spearman"
    assert result.retention.drop == pytest.approx(
        metrics["baseline"]["retention"]["retention_spearman"] - metrics["final"]["retention"]["retention_spearman"]
    )


def test_a_large_drop_fails_the_run_but_keeps_the_model(tmp_path, tiny_model_dir):
    raw = retention_config(tmp_path, tiny_model_dir, fail_on_forgetting=True)
    # Train on scores inverted relative to the retention set: it must get worse on it.
    lines = (tmp_path / "train.tsv").read_text().splitlines()
    inverted = [lines[0]] + [f"{row.rsplit(chr(9), 1)[0]}\t{5 - int(row.rsplit(chr(9), 1)[1])}" for row in lines[1:]]
    (tmp_path / "train.tsv").write_text("\n".join(inverted) + "\n")
    raw["training"].update(lr=1e-2, max_steps=12)
    with pytest.raises(ForgettingError, match="FORGETTING"):
        run_training(parse_config(raw), tmp_path / "run")
    assert (tmp_path / "run" / "model" / "modules.json").exists()
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["state"] == "done" and "FORGETTING" in state["flags"][0]
    assert "FORGETTING" in (tmp_path / "run" / "report.md").read_text()


def test_check_retention_flags_only_drops_beyond_tolerance():
    metrics = {"baseline": {"r": {"r_spearman": 0.80}}, "final": {"r": {"r_spearman": 0.785}}}
    assert check_retention(metrics, "r", "spearman", 0.01).forgot
    assert not check_retention(metrics, "r", "spearman", 0.02).forgot
    assert not RetentionCheck("r", "r_spearman", 0.8, 0.9, 0.0).forgot
    with pytest.raises(ConfigError, match="r_spearman"):
        check_retention(metrics, "r", "pearson", 0.01)


def test_unknown_retention_metric_fails_before_writing(tmp_path, tiny_model_dir):
    raw = retention_config(tmp_path, tiny_model_dir, metric="roc_auc")
    with pytest.raises(ConfigError, match="retention.metric"):
        run_training(parse_config(raw), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_user_eval_set_on_the_same_file_is_reused(tmp_path, tiny_model_dir):
    raw = retention_config(tmp_path, tiny_model_dir)
    raw["data"]["eval"].append({"name": "general", **raw["retention"]["data"]})
    result = run_training(parse_config(raw), tmp_path / "run")
    assert set(result.metrics["final"]) == {"toy", "general"}
    assert result.retention.eval_set == "general"
