"""The CLI as a user meets it: exit codes, one-line errors, nothing written on bad input."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import assert_one_line_error, cli, run_config, write_pairs


@pytest.mark.parametrize("command", [[], ["train"], ["eval"], ["compare"], ["losses"]])
def test_help_works_for_every_command(monkeypatch, capsys, command):
    code, out, _ = cli(monkeypatch, capsys, *command, "--help")
    assert code == 0
    assert "Usage" in out


def test_missing_config_file(monkeypatch, capsys, tmp_path):
    code, _, err = cli(monkeypatch, capsys, "train", str(tmp_path / "nope.yaml"))
    assert_one_line_error(code, err, "nope.yaml", "not found")


def test_config_typo_suggests_the_key(monkeypatch, capsys, tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir)
    raw["training"]["epocs"] = 2
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(raw))
    code, _, err = cli(monkeypatch, capsys, "train", str(path), "-o", str(tmp_path / "run"))
    assert_one_line_error(code, err, "run.yaml", "training.epocs", "did you mean 'epochs'")
    assert not (tmp_path / "run").exists()


def test_bad_data_row_names_file_line_and_field_and_writes_nothing(monkeypatch, capsys, tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir)
    lines = (tmp_path / "train.tsv").read_text().splitlines()
    lines[4] = lines[4].rsplit("\t", 1)[0] + "\tlots"
    (tmp_path / "train.tsv").write_text("\n".join(lines) + "\n")
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(raw))
    code, _, err = cli(monkeypatch, capsys, "train", str(path), "-o", str(tmp_path / "run"))
    assert_one_line_error(code, err, "train.tsv:5", "'label'")
    assert not (tmp_path / "run").exists()


def test_set_override_reaches_the_run(monkeypatch, capsys, tmp_path, tiny_model_dir):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(run_config(tmp_path, tiny_model_dir)))
    code, out, _ = cli(
        monkeypatch,
        capsys,
        "train",
        str(path),
        "-o",
        str(tmp_path / "run"),
        "--set",
        "training.max_steps=2",
        "--set",
        "training.seed=3",
    )
    assert code == 0
    roc_row = next(line for line in out.splitlines() if line.startswith("toy ") and "toy_roc_auc" in line)
    assert "[" in roc_row and "]" in roc_row  # the delta's paired-bootstrap interval
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["training"]["max_steps"] == 2 and saved["training"]["seed"] == 3
    code, _, err = cli(monkeypatch, capsys, "train", str(path), "-o", str(tmp_path / "run"))
    assert_one_line_error(code, err, "--overwrite")


def test_eval_prints_metrics_and_writes_json(monkeypatch, capsys, tmp_path, tiny_model_dir):
    data = write_pairs(tmp_path / "pairs.tsv", n=20, scored=False)
    out_json = tmp_path / "m.json"
    code, out, _ = cli(
        monkeypatch,
        capsys,
        "eval",
        "--model",
        str(tiny_model_dir),
        "--data",
        str(data),
        "--task",
        "pairs",
        "--json",
        str(out_json),
    )
    assert code == 0
    assert "pairs_roc_auc" in out
    metrics = json.loads(out_json.read_text())
    assert 0.0 <= metrics["pairs"]["pairs_roc_auc"] <= 1.0


def test_eval_sts_with_score_range(monkeypatch, capsys, tmp_path, tiny_model_dir):
    data = write_pairs(tmp_path / "sts.tsv", n=20, scored=True)
    code, out, _ = cli(
        monkeypatch,
        capsys,
        "eval",
        "--model",
        str(tiny_model_dir),
        "--data",
        str(data),
        "--label",
        "label",
        "--score-range",
        "0,5",
    )
    assert code == 0
    assert "sts_spearman" in out
    code, _, err = cli(
        monkeypatch, capsys, "eval", "--model", str(tiny_model_dir), "--data", str(data), "--label", "label"
    )
    assert_one_line_error(code, err, "sts.tsv:", "outside")


def test_uncached_hub_id_says_how_to_pass_a_local_path(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    data = write_pairs(tmp_path / "pairs.tsv", n=20, scored=False)
    code, _, err = cli(
        monkeypatch, capsys, "eval", "--model", "someone/not-a-cached-model", "--data", str(data), "--task", "pairs"
    )
    assert_one_line_error(code, err, "someone/not-a-cached-model", "local")


def test_compare_run_dirs_and_models(monkeypatch, capsys, tmp_path, tiny_model_dir):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(run_config(tmp_path, tiny_model_dir)))
    assert cli(monkeypatch, capsys, "train", str(path), "-o", str(tmp_path / "a"))[0] == 0
    assert cli(monkeypatch, capsys, "train", str(path), "-o", str(tmp_path / "b"), "--set", "training.lr=1e-4")[0] == 0
    code, out, _ = cli(monkeypatch, capsys, "compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 0 and "toy_roc_auc" in out
    code, out, _ = cli(
        monkeypatch,
        capsys,
        "compare",
        str(tmp_path / "a"),
        str(tiny_model_dir),
        "--data",
        str(tmp_path / "eval.tsv"),
        "--task",
        "pairs",
    )
    assert code == 0 and "eval_roc_auc" in out
    code, _, err = cli(monkeypatch, capsys, "compare", str(tmp_path / "a"), str(tiny_model_dir))
    assert_one_line_error(code, err, "--data")


def test_losses_lists_the_registry(monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, "losses")
    assert code == 0
    for name in ("cosine", "cosent", "mnrl", "cached_mnrl", "contrastive"):
        assert name in out


def write_suite(tmp_path) -> str:
    pairs = write_pairs(tmp_path / "pairs.tsv", n=24, seed=3, scored=False)
    sts = write_pairs(tmp_path / "sts.tsv", n=24, seed=4, scored=True)
    suite = {
        "evaluators": [
            {"name": "toy_pairs", "task": "pairs", "path": pairs.name, "columns": {"label": "label"}, "folds": 3},
            {"name": "toy_sts", "task": "sts", "path": sts.name, "columns": {"label": "label"}, "score_range": [0, 5]},
            {"name": "toy_sep", "task": "separability", "path": pairs.name, "columns": {"label": "label"}},
        ]
    }
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite))
    return str(tmp_path / "suite.yaml")


def test_eval_with_a_suite_measures_every_set(monkeypatch, capsys, tmp_path, tiny_model_dir):
    code, out, _ = cli(monkeypatch, capsys, "eval", "--model", str(tiny_model_dir), "--suite", write_suite(tmp_path))
    assert code == 0
    for key in ("toy_pairs_roc_auc", "toy_sts_spearman", "toy_sep_gap"):
        assert key in out
    code, _, err = cli(monkeypatch, capsys, "eval", "--model", str(tiny_model_dir))
    assert_one_line_error(code, err, "--data", "--suite")


def test_compare_models_on_a_suite_gives_paired_intervals(monkeypatch, capsys, tmp_path, tiny_model_dir):
    suite = write_suite(tmp_path)
    code, out, _ = cli(
        monkeypatch,
        capsys,
        "compare",
        str(tiny_model_dir),
        str(tiny_model_dir),
        "--suite",
        suite,
        "--resamples",
        "200",
    )
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("toy_sts") and "toy_sts_spearman" in line)
    # A model against itself: delta exactly zero, interval [0, 0], not significant.
    assert "+0.0000  [+0.0000, +0.0000]" in row and not row.endswith("*")


def test_bench_quality_prints_one_column_per_model(monkeypatch, capsys, tmp_path, tiny_model_dir):
    out_file = tmp_path / "quality.md"
    code, out, _ = cli(
        monkeypatch,
        capsys,
        "bench",
        "quality",
        "--model",
        str(tiny_model_dir),
        "--model",
        str(tiny_model_dir),
        "--suite",
        write_suite(tmp_path),
        "--out",
        str(out_file),
    )
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("| eval set"))
    assert header.count(tiny_model_dir.name) == 2
    assert "| toy_sts | spearman |" in out_file.read_text()
    assert json.loads(out_file.with_suffix(".json").read_text())


def test_suite_typo_names_the_suite_file(monkeypatch, capsys, tmp_path, tiny_model_dir):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"evaluators": [{"path": "x.tsv", "tsak": "sts"}]}))
    code, _, err = cli(monkeypatch, capsys, "eval", "--suite", str(tmp_path / "bad.yaml"))
    assert_one_line_error(code, err, "bad.yaml", "did you mean 'task'")


def test_retrieval_from_queries_corpus_and_qrels_files(monkeypatch, capsys, tmp_path, tiny_model_dir):
    (tmp_path / "queries.tsv").write_text("id\ttext\nq1\tthe sun is warm\nq2\ta man plays football\n")
    (tmp_path / "corpus.tsv").write_text(
        "id\ttext\nd1\tthe sun is warm today\nd2\tthe team won the game\nd3\tshe plays the piano\n"
    )
    (tmp_path / "qrels.tsv").write_text("query_id\tdoc_id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    suite = {
        "evaluators": [
            {
                "name": "toy_ir",
                "task": "retrieval",
                "path": "qrels.tsv",
                "queries": "queries.tsv",
                "corpus": "corpus.tsv",
            }
        ]
    }
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite))
    code, out, _ = cli(
        monkeypatch, capsys, "eval", "--model", str(tiny_model_dir), "--suite", str(tmp_path / "suite.yaml")
    )
    assert code == 0
    ndcg = float(next(line for line in out.splitlines() if line.startswith("toy_ir_ndcg@10")).split("\t")[1])
    assert 0.0 < ndcg <= 1.0
    suite["evaluators"][0].pop("corpus")
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite))
    code, _, err = cli(
        monkeypatch, capsys, "eval", "--model", str(tiny_model_dir), "--suite", str(tmp_path / "suite.yaml")
    )
    assert_one_line_error(code, err, "suite.yaml", "queries and corpus")
