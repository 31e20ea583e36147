"""The data commands as a user meets them: mine, hard-negatives, inspect."""

from __future__ import annotations

import json
import random

from helpers import TOPICS, assert_one_line_error, cli, run_config, write_pairs

from embedtune.data.readers import load_pairs
from embedtune.data.spec import Columns, DataSpec


def write_documents(tmp_path):
    rng = random.Random(0)
    rows = []
    for topic, sentences in TOPICS.items():
        for i in range(20):
            words = rng.sample(" ".join(sentences).split(), 6)
            rows.append(f"{' '.join(words)} {topic} {i}\t{topic}")
    path = tmp_path / "docs.tsv"
    path.write_text("text\tcategory\n" + "\n".join(rows) + "\n")
    return path


def test_mine_writes_phased_pairs_that_load_back(monkeypatch, capsys, tmp_path):
    docs = write_documents(tmp_path)
    args = ["mine", str(docs), "-o", str(tmp_path / "mined"), "--pairs-per-category", "3", "--format", "tsv"]
    code, out, err = cli(monkeypatch, capsys, *args)
    assert code == 0 and "train pairs" in out, err
    data = load_pairs(DataSpec(path=tmp_path / "mined" / "train.tsv", columns=Columns(label="label", phase="phase")))
    assert set(data.phases) <= {"1", "2", "3"} and set(data.labels) <= {0.0, 1.0}
    code, _, err = cli(monkeypatch, capsys, *args)
    assert_one_line_error(code, err, "--overwrite")
    code, _, err = cli(monkeypatch, capsys, "mine", str(docs), "-o", str(tmp_path / "other"), "--eval-fraction", "2")
    assert_one_line_error(code, err, "eval_fraction")


def test_mine_overwrite_leaves_no_file_of_the_earlier_mine(monkeypatch, capsys, tmp_path):
    """An earlier test split beside a new split would score documents the new one trains on."""
    docs, out = write_documents(tmp_path), tmp_path / "mined"
    base = ["mine", str(docs), "-o", str(out), "--pairs-per-category", "3"]
    assert cli(monkeypatch, capsys, *base, "--test-fraction", "0.2")[0] == 0
    (out / "notes.txt").write_text("mine")
    code, _, err = cli(monkeypatch, capsys, *base, "--overwrite", "--format", "tsv")
    assert code == 0, err
    left = sorted(path.name for path in out.iterdir())
    assert "test_documents.tsv" not in left and "test-suite.yaml" not in left and "train.jsonl" not in left
    assert "train.tsv" in left and "notes.txt" in left  # a file mine does not write stays


def test_mine_with_model_hard_negatives(monkeypatch, capsys, tmp_path, tiny_model_dir):
    docs = write_documents(tmp_path)
    base = ["mine", str(docs), "--pairs-per-category", "3"]
    code, _, err = cli(monkeypatch, capsys, *base, "-o", str(tmp_path / "tfidf"))
    assert code == 0, err
    extra = ["--hard-negatives", "model", "--model", str(tiny_model_dir)]
    code, out, err = cli(monkeypatch, capsys, *base, "-o", str(tmp_path / "model"), *extra)
    assert code == 0 and "nearest wrong-category document" in out, err
    spec = {"columns": Columns(label="label", phase="phase")}
    tfidf = load_pairs(DataSpec(path=tmp_path / "tfidf" / "train.jsonl", **spec))
    model = load_pairs(DataSpec(path=tmp_path / "model" / "train.jsonl", **spec))
    changed = [
        k for k in range(len(tfidf)) if (tfidf.texts1[k], tfidf.texts2[k]) != (model.texts1[k], model.texts2[k])
    ]
    assert changed and all(tfidf.phases[k] == "3" and tfidf.labels[k] == 0.0 for k in changed)
    summary = json.loads((tmp_path / "model" / "summary.json").read_text())
    assert summary["hard_negatives"]["model"] == str(tiny_model_dir)
    code, _, err = cli(monkeypatch, capsys, *base, "-o", str(tmp_path / "x"), "--hard-negatives", "bm25")
    assert_one_line_error(code, err, "--hard-negatives")


def test_hard_negatives_adds_a_negative_column(monkeypatch, capsys, tmp_path, tiny_model_dir):
    pairs = write_pairs(tmp_path / "pairs.tsv", n=24, scored=False)
    out = tmp_path / "triplets.tsv"
    code, stdout, _ = cli(
        monkeypatch, capsys, "hard-negatives", str(pairs), "-o", str(out), "--model", str(tiny_model_dir)
    )
    assert code == 0 and "triplets" in stdout
    triplets = load_pairs(DataSpec(path=out, columns=Columns(text1="anchor", text2="positive", negative="negative")))
    assert len(triplets) > 0 and triplets.kind == "triplets"
    assert all(n != p for p, n in zip(triplets.texts2, triplets.negatives))


def test_inspect_reports_duplicates_and_leakage(monkeypatch, capsys, tmp_path):
    pairs = write_pairs(tmp_path / "pairs.tsv", n=24, scored=False)
    lines = pairs.read_text().splitlines()
    pairs.write_text("\n".join([*lines, lines[1]]) + "\n")  # one exact duplicate
    evaluation = write_pairs(tmp_path / "eval.tsv", n=12, seed=9, scored=False)
    report_file = tmp_path / "report.json"
    code, out, _ = cli(
        monkeypatch,
        capsys,
        "inspect",
        str(pairs),
        "--eval",
        str(evaluation),
        "--label",
        "label",
        "--json",
        str(report_file),
    )
    assert code == 0
    report = json.loads(report_file.read_text())
    assert report["rows"] == 25
    assert report["duplicates"]["count"] >= 1
    assert report["leakage"]


def test_knn_eval_set_with_a_separate_index_file(monkeypatch, capsys, tmp_path, tiny_model_dir):
    import yaml

    docs = write_documents(tmp_path)
    lines = docs.read_text().splitlines()
    (tmp_path / "index.tsv").write_text("\n".join([lines[0], *lines[1::2]]) + "\n")
    (tmp_path / "queries.tsv").write_text("\n".join([lines[0], *lines[2::2]]) + "\n")
    suite = {
        "evaluators": [
            {
                "name": "docs_knn",
                "task": "knn",
                "path": "queries.tsv",
                "index": "index.tsv",
                "columns": {"text1": "text", "label": "category"},
                "k": 3,
            }
        ]
    }
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite))
    code, out, err = cli(
        monkeypatch, capsys, "eval", "--model", str(tiny_model_dir), "--suite", str(tmp_path / "suite.yaml")
    )
    assert code == 0, err
    accuracy = float(next(line for line in out.splitlines() if line.startswith("docs_knn_accuracy")).split("\t")[1])
    assert 0.0 <= accuracy <= 1.0


def test_training_with_a_document_eval_set(tmp_path, tiny_model_dir):
    from embedtune.config import parse_config
    from embedtune.pipeline import run_training

    docs = write_documents(tmp_path)
    raw = run_config(tmp_path, tiny_model_dir)
    raw["data"]["eval"].append(
        {
            "name": "docs_knn",
            "task": "knn",
            "path": str(docs),
            "k": 3,
            "columns": {"text1": "text", "label": "category"},
        }
    )
    result = run_training(parse_config(raw), tmp_path / "run")
    assert set(result.metrics["final"]["docs_knn"]) == {"docs_knn_accuracy", "docs_knn_macro_f1"}
    assert "docs_knn" in result.statistics
