"""Everything that can be checked is checked before the run dir exists, and the forgetting guard is never a model
selection criterion (issue 13, section 1)."""

from __future__ import annotations

import pytest
from helpers import ROOT, Captured, assert_one_line_error, cli, run_config, write_pairs

from embedtune.config import parse_config
from embedtune.errors import ConfigError
from embedtune.pipeline import run_training


def distill_config(tmp_path, model_dir, teacher: str, layer_map) -> dict:
    loss = {"name": "feature_distill", "teacher": teacher, "layer_map": layer_map}
    return run_config(tmp_path, model_dir, loss=loss)


def test_a_missing_teacher_folder_fails_before_the_run_dir_exists(tmp_path, tiny_model_dir):
    raw = distill_config(tmp_path, tiny_model_dir, str(tmp_path / "no-teacher"), None)
    with pytest.raises(ConfigError, match="loss.teacher: .*no-teacher not found"):
        run_training(parse_config(raw), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_folder_that_is_no_model_is_refused_as_teacher(tmp_path, tiny_model_dir):
    (tmp_path / "notes").mkdir()
    raw = distill_config(tmp_path, tiny_model_dir, str(tmp_path / "notes"), None)
    with pytest.raises(ConfigError, match="not a SentenceTransformer folder"):
        run_training(parse_config(raw), tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("layer_map", [{3: 4}, {2: 5}], ids=["student-index", "teacher-index"])
def test_layer_map_indices_out_of_range_fail_before_the_run_dir(tmp_path, tiny_model_dir, tiny_teacher_dir, layer_map):
    raw = distill_config(tmp_path, tiny_model_dir, str(tiny_teacher_dir), layer_map)  # student 2 layers, teacher 4
    with pytest.raises(ConfigError, match=r"layer_map: .* out of range \(hidden states 0\.\.2 of the student, 0\.\.4"):
        run_training(parse_config(raw), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def guarded(tmp_path, model_dir) -> dict:
    """A run selecting on its eval set, with a general set guarded."""
    raw = run_config(tmp_path, model_dir)
    general = write_pairs(tmp_path / "general.tsv", n=24, seed=3, scored=True)
    guard = {"name": "general", "path": str(general), "task": "sts", "columns": {"label": "label"}}
    raw["retention"] = {"enabled": True, "sets": [{"data": {**guard, "score_range": [0, 5]}}]}
    raw["training"].update(save_best_model=True)
    return raw


def test_the_guard_sets_are_neither_selected_on_nor_evaluated_during_training(tmp_path, tiny_model_dir, trainer_seen):
    with pytest.raises(Captured):
        run_training(parse_config(guarded(tmp_path, tiny_model_dir)), tmp_path / "run")
    trainer = trainer_seen["trainer"]
    assert trainer.args.metric_for_best_model == "eval_toy_roc_auc"
    assert [evaluator.name for evaluator in trainer.evaluator.evaluators] == ["toy"]


def test_metric_for_best_model_may_not_name_a_retention_metric(tmp_path, tiny_model_dir):
    raw = guarded(tmp_path, tiny_model_dir)
    raw["training"]["metric_for_best_model"] = "general_spearman"
    with pytest.raises(ConfigError, match="general_spearman.*forgetting guard"):
        run_training(parse_config(raw), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_attention_layer_0_is_out_of_range(tmp_path, tiny_model_dir, tiny_teacher_dir):
    """Attention layers count from 1: layer 0 was read as index -1, the last layer, on both sides."""
    raw = distill_config(tmp_path, tiny_model_dir, str(tiny_teacher_dir), {0: 0})
    raw["loss"]["name"] = "attention_distill"
    with pytest.raises(ConfigError, match=r"0 -> 0 is out of range \(attention layers 1\.\.2 of the student, 1\.\.4"):
        run_training(parse_config(raw), tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("metric, greater", [("toy_gap", True), ("toy_overlap", False)])
def test_selection_follows_the_metrics_direction(tmp_path, tiny_model_dir, trainer_seen, metric, greater):
    """Overlap is lower-is-better: selecting on it as if higher were better kept the worst checkpoint."""
    raw = run_config(tmp_path, tiny_model_dir, training={"metric_for_best_model": metric, "save_best_model": True})
    raw["data"]["eval"][0].update(task="separability")
    raw["data"]["eval"][0].pop("folds")
    with pytest.raises(Captured):
        run_training(parse_config(raw), tmp_path / "run")
    assert trainer_seen["trainer"].args.greater_is_better is greater


def test_a_setting_is_not_a_selection_metric(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, training={"metric_for_best_model": "toy_threshold"})
    with pytest.raises(ConfigError, match="toy_threshold.*setting"):
        run_training(parse_config(raw), tmp_path / "run")


def test_a_cached_hub_id_loads_with_safetensors_only(monkeypatch):
    import sentence_transformers

    from embedtune.modeling.load import load_model

    seen = {}

    def fake(location, **kwargs):
        seen.update(kwargs, location=location)
        raise OSError("stop here")

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", fake)
    with pytest.raises(Exception):
        load_model("someone/some-model")
    assert seen["location"] == "someone/some-model" and seen["model_kwargs"] == {"use_safetensors": True}


def test_compare_takes_folds(monkeypatch, capsys, tmp_path, tiny_model_dir):
    data = write_pairs(tmp_path / "pairs.tsv", n=24, seed=2, scored=False)
    args = ["compare", str(tiny_model_dir), str(tiny_model_dir), "--data", str(data), "--task", "pairs"]
    code, out, err = cli(monkeypatch, capsys, *args, "--label", "label", "--folds", "3", "--resamples", "0")
    assert code == 0, err
    assert "_roc_auc" in out


def test_transformers_floor_is_the_major_version_warmup_relies_on():

    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    spec = next(dep for dep in project["project"]["dependencies"] if dep.startswith("transformers"))
    assert ">=5.0" in spec  # a float warmup_steps < 1 is a ratio only in transformers 5


def test_folds_where_they_do_not_apply_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    data = write_pairs(tmp_path / "sts.tsv", n=12, seed=2, scored=True)
    code, _, err = cli(monkeypatch, capsys, "eval", "--data", str(data), "--label", "label", "--folds", "3")
    assert_one_line_error(code, err, "--folds applies to --task pairs")
