"""The forgetting guard: a retention set measured before and after training, flagged and optionally fatal."""

from __future__ import annotations

import json

import numpy as np
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
    [check] = result.retention
    assert check.metric == "retention_spearman"
    assert check.drop == pytest.approx(
        metrics["baseline"]["retention"]["retention_spearman"] - metrics["final"]["retention"]["retention_spearman"]
    )


def test_a_large_drop_fails_the_run_but_keeps_the_model(tmp_path, tiny_model_dir):
    raw = retention_config(tmp_path, tiny_model_dir, fail_on_forgetting=True)
    _invert_scores(tmp_path / "train.tsv")  # scores inverted relative to the retention set: it must get worse
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


def test_the_guard_reads_a_metrics_direction_and_a_nan_as_forgetting():
    rising = RetentionCheck("p", "p_overlap", 0.10, 0.60, 0.01)  # lower is better: a rise is the drop
    assert rising.forgot and rising.drop == pytest.approx(0.5) and rising.over == pytest.approx(0.49)
    assert not RetentionCheck("p", "p_overlap", 0.60, 0.10, 0.01).forgot
    collapsed = RetentionCheck("s", "s_spearman", 0.87, float("nan"), 0.01)  # constant cosines: no Spearman
    assert collapsed.forgot and collapsed.over == float("inf")


def test_unknown_retention_metric_fails_before_writing(tmp_path, tiny_model_dir):
    raw = retention_config(tmp_path, tiny_model_dir, metric="roc_auc")
    with pytest.raises(ConfigError, match="retention.metric"):
        run_training(parse_config(raw), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_set_the_run_reports_is_dropped_from_the_guard_with_a_log_line(tmp_path, tiny_model_dir, caplog):
    raw = retention_config(tmp_path, tiny_model_dir)
    raw["data"]["eval"].append({"name": "general", **raw["retention"]["data"]})
    with caplog.at_level("INFO", logger="embedtune"):
        result = run_training(parse_config(raw), tmp_path / "run")
    assert set(result.metrics["final"]) == {"toy", "general"}  # measured once, as the user's eval set
    assert result.retention == []
    assert "forgetting guard: retention (" in caplog.text and "dropped, the run reports it (eval set general)" in (
        caplog.text
    )
    assert result.verdict[-1].startswith("forgetting check: OFF (every guard set is trained on or reported")


def test_the_default_guard_is_every_general_set_of_shared_data(shared_data):
    from embedtune.evaluation.retention import default_guard_sets

    # ../shared beside the working directory comes first, so compare the files' places within shared/data
    found = {g.data.name: ("/".join(g.data.path.parts[-2:]), g.data.task, g.metric) for g in default_guard_sets()}
    assert found == {
        "stsb_dev": ("stsb/dev.tsv", "sts", "spearman"),
        "sick_trial": ("sick/trial.tsv", "sts", "spearman"),
        "msrp_val": ("msrp/val.tsv", "pairs", "roc_auc"),
        "trecqa_dev": ("trecqa/dev.tsv", "reranking", "map"),
    }


def three_general_sets(tmp_path) -> list[dict]:
    sets = []
    for index, name in enumerate(("alpha", "beta", "gamma")):
        (tmp_path / name).mkdir(exist_ok=True)
        path = write_pairs(tmp_path / name / "dev.tsv", n=24, seed=10 + index, scored=True)
        data = {"path": str(path), "task": "sts", "columns": {"label": "label"}, "score_range": [0, 5]}
        sets.append({"data": data})
    return sets


def test_a_set_the_run_trains_on_or_reports_is_dropped_and_the_others_kept(tmp_path, caplog):
    from embedtune.evaluation.retention import plan_guards

    raw = run_config(tmp_path, tmp_path)
    sets = three_general_sets(tmp_path)
    raw["data"]["train"]["path"] = sets[0]["data"]["path"]  # trains on alpha
    raw["data"]["eval"].append({"name": "target", **sets[1]["data"]})  # reports beta
    raw["retention"] = {"sets": sets, "tolerance": 0.02}
    with caplog.at_level("INFO", logger="embedtune"):
        guards, off = plan_guards(parse_config(raw))
    assert off is None
    assert [(g.name, g.label, g.tolerance) for g in guards] == [("gamma_dev", "gamma/dev.tsv", 0.02)]
    assert "alpha_dev (alpha/dev.tsv) dropped, the run trains on it (data.train)" in caplog.text
    assert "beta_dev (beta/dev.tsv) dropped, the run reports it (eval set target)" in caplog.text


def test_every_guarded_set_is_named_in_the_verdict_with_its_change_and_interval(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, training={"lr": 1e-2, "max_steps": 12})
    sets = three_general_sets(tmp_path)
    sets[0]["tolerance"] = 0.0  # any drop is flagged on alpha
    sets[1]["tolerance"] = 2.0  # nothing is flagged on beta
    sets[2]["metric"] = "pearson"
    raw["retention"] = {"sets": sets}
    _invert_scores(tmp_path / "train.tsv")
    result = run_training(parse_config(raw), tmp_path / "run")
    guard_lines = result.verdict[1:]
    assert [line.split(":")[0] for line in guard_lines] == [
        "forgetting check, alpha_dev (alpha/dev.tsv)",
        "forgetting check, beta_dev (beta/dev.tsv)",
        "forgetting check, gamma_dev (gamma/dev.tsv)",
    ]
    assert "FORGOT: spearman -" in guard_lines[0] and guard_lines[0].endswith("beyond 0")
    assert guard_lines[1].endswith("within 2") and ": pearson " in guard_lines[2]
    for line in guard_lines:
        assert " [" in line  # each change with its interval
    assert [check.eval_set for check in result.retention] == ["alpha_dev", "beta_dev", "gamma_dev"]
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["verdict"][1:] == guard_lines and any("alpha_dev" in flag for flag in state["flags"])


def test_a_guard_switched_off_is_warned_about_in_the_terminal_and_the_report(tmp_path, tiny_model_dir, caplog):
    raw = run_config(tmp_path, tiny_model_dir)  # retention.enabled: false
    with caplog.at_level("WARNING", logger="embedtune"):
        result = run_training(parse_config(raw), tmp_path / "run")
    assert "forgetting guard OFF (retention.enabled is false)" in caplog.text
    assert result.verdict[-1].startswith("forgetting check: OFF (retention.enabled is false")
    report = (tmp_path / "run" / "report.md").read_text()
    assert "**Warning:** forgetting guard OFF: retention.enabled is false" in report


def test_each_distinct_text_is_encoded_once_per_measurement(tmp_path):
    from embedtune.config import EvalSetConfig
    from embedtune.evaluation.suite import load_eval_sets, measure

    first = write_pairs(tmp_path / "first.tsv", n=24, seed=1, scored=True)
    second = write_pairs(tmp_path / "second.tsv", n=24, seed=2, scored=True)  # the same topic sentences again
    configs = [
        EvalSetConfig.create(name=n, path=p, task="sts", columns={"label": "label"}, score_range=(0, 5))
        for n, p in (("first", first), ("second", second))
    ]
    encoded: list[str] = []

    class Counting:
        def encode(self, texts, **kwargs):
            encoded.extend(texts)
            return np.random.default_rng(len(encoded)).normal(size=(len(texts), 8)).astype(np.float32)

    measure(load_eval_sets(configs), Counting())
    assert encoded and len(encoded) == len(set(encoded))


def _invert_scores(path) -> None:
    lines = path.read_text().splitlines()
    inverted = [lines[0]] + [f"{row.rsplit(chr(9), 1)[0]}\t{5 - int(row.rsplit(chr(9), 1)[1])}" for row in lines[1:]]
    path.write_text("\n".join(inverted) + "\n")


def test_guard_names_stay_distinct_and_a_set_reported_as_another_task_stays_guarded(tmp_path):
    from embedtune.evaluation.retention import plan_guards

    raw = run_config(tmp_path, tmp_path)
    for folder in ("a/sick", "b/sick"):
        (tmp_path / folder).mkdir(parents=True)
    sets = []
    for index, folder in enumerate(("a/sick", "b/sick")):
        path = write_pairs(tmp_path / folder / "dev.tsv", n=12, seed=index, scored=True)
        sets.append({"data": {"path": str(path), "task": "sts", "columns": {"label": "label"}, "score_range": [0, 5]}})
    isotropy = {"name": "spread", "path": sets[0]["data"]["path"], "task": "isotropy", "columns": {"label": "label"}}
    raw["data"]["eval"].append({**isotropy, "score_range": [0, 5]})  # the same file, measured for another thing
    raw["retention"] = {"sets": sets}
    guards, _ = plan_guards(parse_config(raw))
    assert [guard.name for guard in guards] == ["sick_dev", "sick_dev_2"]


def test_a_resume_keeps_the_guard_sets_the_run_started_with(tmp_path):
    import yaml

    from embedtune.config import dump_config, resumed_config

    raw = run_config(tmp_path, tmp_path)
    general = write_pairs(tmp_path / "general.tsv", n=12, seed=1, scored=True)
    old = {**raw, "retention": {"data": {"path": str(general), "task": "sts"}, "metric": "spearman"}}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text(dump_config(parse_config(old)))
    given = parse_config({**raw, "retention": {}})  # the recipe as it is today: default guard sets
    saved = resumed_config(tmp_path / "run", given)
    assert saved.retention.guard_sets()[0].data.path == general
    changed = parse_config({**raw, "retention": {"tolerance": 0.05}})
    with pytest.raises(ConfigError, match=r"retention.tolerance \(0.01 -> 0.05\)"):
        resumed_config(tmp_path / "run", changed)
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["retention"]["metric"] == "spearman"


def test_the_shared_embedding_cache_refuses_options_it_cannot_honour():
    from embedtune.evaluation.embed import EmbeddingCache

    class Unit:
        def encode(self, texts, **kwargs):
            return np.eye(len(texts), 4, dtype=np.float32)

    cache = EmbeddingCache(Unit())
    assert cache.encode(["a", "b"]).shape == (2, 4)
    for option in ({"normalize_embeddings": False}, {"convert_to_tensor": True}, {"prompt_name": "query"}):
        with pytest.raises(ValueError, match="cannot honour"):
            cache.encode(["a"], **option)
