"""The result in words: a verdict per eval set and the forgetting check by name, in the terminal and the reports;
the retention set recorded; the final evaluation done once; compare's baseline equal to the report's."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml
from helpers import cli, run_config

from embedtune.config import EvalSetConfig, GuardSetConfig, parse_config
from embedtune.data.spec import Columns
from embedtune.evaluation.retention import RetentionCheck
from embedtune.evaluation.verdict import forgetting_line, forgetting_lines, run_verdict
from embedtune.pipeline import run_training


def target(name: str, primary: str):
    return SimpleNamespace(name=name, evaluator=SimpleNamespace(primary_metric=primary))


def interval(low: float, high: float) -> dict:
    return {"delta_low": low, "delta_high": high, "excludes_zero": low > 0 or high < 0}


def test_each_eval_set_gets_better_worse_or_no_clear_difference_on_its_primary_metric():
    metrics = {
        "baseline": {
            "a": {"a_roc_auc": 0.80},
            "b": {"b_spearman": 0.80},
            "c": {"c_f1": 0.5},
            "d": {"d_isotropy": 0.3},
        },
        "final": {"a": {"a_roc_auc": 0.887}, "b": {"b_spearman": 0.75}, "c": {"c_f1": 0.51}, "d": {"d_isotropy": 0.4}},
    }
    statistics = {
        "a": {"a_roc_auc": interval(0.05, 0.12)},
        "b": {"b_spearman": interval(-0.08, -0.02)},
        "c": {"c_f1": interval(-0.02, 0.04)},
    }
    targets = [target("a", "a_roc_auc"), target("b", "b_spearman"), target("c", "c_f1"), target("d", "d_isotropy")]
    lines = run_verdict(targets, metrics, statistics, forgetting_lines([], statistics, "retention.enabled is false"))
    assert lines == [
        "a: better: roc_auc +0.0870 [+0.0500, +0.1200] (0.8000 -> 0.8870)",
        "b: worse: spearman -0.0500 [-0.0800, -0.0200] (0.8000 -> 0.7500)",
        "c: no clear difference: f1 +0.0100 [-0.0200, +0.0400] (0.5000 -> 0.5100)",
        "d: higher (no interval): isotropy +0.1000 (0.3000 -> 0.4000)",
        "forgetting check: OFF (retention.enabled is false)",
    ]


def test_no_change_and_nan_are_not_called_lower():
    metrics = {
        "baseline": {"e": {"e_x": 0.8}, "f": {"f_x": 0.8}},
        "final": {"e": {"e_x": 0.8}, "f": {"f_x": float("nan")}},
    }
    lines = run_verdict([target("e", "e_x"), target("f", "f_x")], metrics, {}, [])
    assert lines == [
        "e: unchanged (no interval): x +0.0000 (0.8000 -> 0.8000)",
        "f: undefined (NaN) (no interval): x +nan (0.8000 -> nan)",
    ]


def test_the_forgetting_check_names_the_set_and_says_within_or_forgot():
    kept = RetentionCheck("retention", "retention_spearman", 0.82, 0.811, 0.01, "stsb/dev.tsv")
    stat = {"retention": {"retention_spearman": interval(-0.014, -0.004)}}
    assert forgetting_line(kept, stat) == (
        "forgetting check, retention (stsb/dev.tsv): spearman -0.0090 [-0.0140, -0.0040], within 0.01"
    )
    forgot = RetentionCheck("retention", "retention_spearman", 0.82, 0.79, 0.01, "stsb/dev.tsv")
    assert "FORGOT: spearman -0.0300" in forgetting_line(forgot, stat)


def test_train_prints_the_verdict_and_both_reports_open_with_it(monkeypatch, capsys, tmp_path, tiny_model_dir):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(run_config(tmp_path, tiny_model_dir)))
    code, out, err = cli(monkeypatch, capsys, "train", str(config), "-o", str(tmp_path / "run"))
    assert code == 0, err
    verdict = json.loads((tmp_path / "run" / "state.json").read_text())["verdict"]
    assert verdict[0].startswith("toy: ") and ": roc_auc " in verdict[0]
    assert verdict[-1].startswith("forgetting check: OFF")
    for line in verdict:
        assert line in out
    markdown = (tmp_path / "run" / "report.md").read_text()
    assert markdown.index(verdict[0]) < markdown.index("| eval set")
    assert "forgetting guard" in markdown


def test_the_default_guard_sets_are_recorded_in_config_yaml(monkeypatch, tmp_path, tiny_model_dir):
    general = tmp_path / "general" / "dev.tsv"
    general.parent.mkdir()
    general.write_text(
        "sentence1\tsentence2\tscore\n" + "".join(f"a man {i}\tthe dog {i}\t{i % 5}\n" for i in range(12))
    )
    found = EvalSetConfig.create(
        name="general_dev", path=general, task="sts", columns=Columns(label="score"), score_range=(0, 5)
    )
    monkeypatch.setattr(
        "embedtune.evaluation.retention.default_guard_sets", lambda: [GuardSetConfig(data=found, metric="spearman")]
    )
    raw = run_config(tmp_path, tiny_model_dir)
    raw["retention"] = {"enabled": True}
    result = run_training(parse_config(raw), tmp_path / "run")
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["retention"]["sets"][0]["data"]["path"] == str(general)
    assert result.verdict[-1].startswith("forgetting check, general_dev (general/dev.tsv): spearman ")


def test_the_final_model_is_evaluated_once(monkeypatch, tmp_path, tiny_model_dir):
    from embedtune.evaluation.pair_classification import PairClassificationEvaluator

    calls = []
    original = PairClassificationEvaluator.item_scores

    def counted(self, model):
        calls.append(1)
        return original(self, model)

    monkeypatch.setattr(PairClassificationEvaluator, "item_scores", counted)
    raw = run_config(tmp_path, tiny_model_dir)  # 6 steps, evaluated every 3
    run_training(parse_config(raw), tmp_path / "run")
    assert len(calls) == 3  # baseline, the trainer at step 3, the final measurement (not step 6 twice)
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    final = json.loads((tmp_path / "run" / "metrics.json").read_text())["final"]["toy"]
    evals = [record for record in history if record["kind"] == "eval"]
    assert [record["step"] for record in evals] == [3, 6]
    assert evals[-1]["toy_roc_auc"] == pytest.approx(final["toy_roc_auc"])


def test_compare_evaluates_a_plain_model_at_the_runs_max_seq_length(monkeypatch, capsys, tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir)
    raw["model"]["max_seq_length"] = 8  # short enough to cut the toy texts: the baseline depends on it
    run_training(parse_config(raw), tmp_path / "run")
    baseline = json.loads((tmp_path / "run" / "metrics.json").read_text())["baseline"]["toy"]["toy_roc_auc"]
    eval_file = raw["data"]["eval"][0]["path"]
    code, out, err = cli(
        monkeypatch, capsys, "compare", str(tiny_model_dir), str(tmp_path / "run"), "--data", eval_file,
        "--task", "pairs", "--resamples", "0",
    )  # fmt: skip
    assert code == 0, err
    row = next(line for line in out.splitlines() if line[:1] != "{" and "_roc_auc " in line)
    assert float(row.split()[2]) == pytest.approx(baseline, abs=1e-4)
    assert "max_seq_length 8" in err
