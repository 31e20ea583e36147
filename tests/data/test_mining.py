from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pydantic
import pytest
from helpers import SYNTHETIC_PHASES, TOPICS, assert_one_line_error, cli, mining_config, synthetic_documents

from embedtune.data.documents import load_documents
from embedtune.data.mining import (
    MinedPairs,
    MiningConfig,
    band_contains,
    fit_tfidf,
    format_summary,
    mine_category_pairs,
    write_mined,
)
from embedtune.data.readers import load_pairs
from embedtune.data.spec import Columns, DataSpec
from embedtune.errors import UserError


@pytest.fixture(scope="module")
def mined() -> MinedPairs:
    return mine_category_pairs(*synthetic_documents(), mining_config())


def rows(data) -> list[tuple]:
    return list(zip(data.texts1, data.texts2, data.labels, data.phases))


def pair_cosines(mined: MinedPairs, data, cfg: MiningConfig) -> np.ndarray:
    vectorizer = fit_tfidf(mined.train_documents[0], cfg)
    a, b = vectorizer.transform(data.texts1), vectorizer.transform(data.texts2)
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


def test_mining_is_deterministic_for_a_seed():
    texts, labels = synthetic_documents()
    first = mine_category_pairs(texts, labels, mining_config())
    second = mine_category_pairs(texts, labels, mining_config())
    assert rows(first.train) == rows(second.train) and rows(first.eval) == rows(second.eval)
    assert first.summary == second.summary and first.eval_documents == second.eval_documents
    other = mine_category_pairs(texts, labels, mining_config(seed=1))
    assert rows(other.train) != rows(first.train)
    assert set(other.eval_documents[0]) != set(first.eval_documents[0])


def test_split_is_stratified_and_no_text_is_in_both(mined):
    train_texts, train_labels = mined.train_documents
    eval_texts, eval_labels = mined.eval_documents
    assert not set(train_texts) & set(eval_texts)
    assert len(train_texts) + len(eval_texts) == 90 and len(eval_texts) == 18
    assert sorted(eval_labels) == sorted(["alpha", "beta", "gamma"] * 6)
    assert set(mined.train.texts()) <= set(train_texts)
    assert set(mined.eval.texts()) <= set(eval_texts)


def test_every_train_pair_lies_in_its_phase_band_and_labels_follow_categories(mined):
    cfg = mining_config()
    category = dict(zip(*mined.train_documents))
    cosines = pair_cosines(mined, mined.train, cfg)
    assert len(mined.train) == 3 * 2 * 3 * 10  # phases x labels x categories x pairs_per_category
    for (a, b, label, phase), cos in zip(rows(mined.train), cosines):
        assert label == float(category[a] == category[b])
        band = getattr(cfg.phases[phase], "positive" if label == 1.0 else "negative")
        assert band_contains(band, cos), (phase, label, cos)
    assert mined.train.groups == [category[a] for a in mined.train.texts1]
    assert mined.train.phases == sorted(mined.train.phases)  # curriculum order: phase 1 rows first
    summary = mined.summary["train"]
    for phase, by_label in summary["phases"].items():
        for name, stats in by_label.items():
            assert stats["pairs"] == 30 and stats["band"][0] <= stats["cosine"]["min"] <= stats["cosine"]["max"]
    assert summary["categories"]["alpha"] == {"positive": 30, "negative": 30}


def test_banded_eval_pairs_lie_in_bands_and_come_from_eval_documents():
    cfg = mining_config(eval_pairs="banded", eval_pairs_per_category=2)
    mined = mine_category_pairs(*synthetic_documents(), cfg)
    category = dict(zip(*mined.eval_documents))
    for (a, b, label, phase), cos in zip(rows(mined.eval), pair_cosines(mined, mined.eval, cfg)):
        assert label == float(category[a] == category[b])
        assert band_contains(getattr(cfg.phases[phase], "positive" if label else "negative"), cos)


def test_balanced_eval_has_equal_same_and_different_pairs_per_category(mined):
    cfg = mining_config()
    category = dict(zip(*mined.eval_documents))
    assert mined.summary["eval"]["categories"] == {c: {"positive": 5, "negative": 5} for c in category.values()}
    assert sum(mined.eval.labels) == 15 and len(mined.eval) == 30
    for (a, b, label, phase), cos in zip(rows(mined.eval), pair_cosines(mined, mined.eval, cfg)):
        assert label == float(category[a] == category[b]) and phase in cfg.phases
    by_phase = mined.summary["eval"]["phases"]
    assert sum(s["pairs"] for labels in by_phase.values() for s in labels.values()) == 30


def test_no_self_pairs_or_duplicate_pairs_and_repeated_documents_are_removed(mined):
    for data in (mined.train, mined.eval):
        keys = [frozenset((a, b)) for a, b in zip(data.texts1, data.texts2)]
        assert all(len(k) == 2 for k in keys) and len(set(keys)) == len(keys)
    texts, labels = synthetic_documents()
    repeated = mine_category_pairs(
        [*texts, texts[5], texts[6] + "  ", texts[7], "clash words", "clash words"],
        [*labels, labels[5], labels[6], "beta" if labels[7] != "beta" else "gamma", "alpha", "beta"],
        mining_config(),
    )
    documents = repeated.summary["documents"]
    assert documents == {**documents, "input": 95, "duplicates_removed": 2, "conflicting_removed": 4}
    kept = repeated.train_documents[0] + repeated.eval_documents[0]
    assert len(kept) == len(set(kept)) == 89 and texts[7].strip() not in kept and "clash words" not in kept


def test_a_band_with_no_candidates_in_any_category_names_the_phase():
    phases = {**SYNTHETIC_PHASES, "hard": {"positive": (0.0, 0.15), "negative": (0.97, 0.99)}}
    with pytest.raises(UserError, match=r"phase hard negative band \[0\.97, 0\.99\) holds no cross-category pair"):
        mine_category_pairs(*synthetic_documents(), mining_config(phases=phases))


def test_short_bands_take_what_exists_and_are_recorded():
    phases = {"1": {"positive": (0.3, 1.0), "negative": (0.15, 1.0)}}
    mined = mine_category_pairs(*synthetic_documents(), mining_config(phases=phases, pairs_per_category=500))
    summary = mined.summary["train"]
    assert summary["shortfalls"] and all(s["mined"] < s["requested"] == 500 for s in summary["shortfalls"])
    positives = summary["phases"]["1"]["positive"]
    assert positives["pairs"] == positives["available"] > 0  # every in-band same-category pair, once
    assert "short bands:" in format_summary(mined.summary)


@pytest.mark.parametrize("fmt", ["jsonl", "tsv"])
def test_written_files_round_trip_through_load_pairs(tmp_path, mined, fmt):
    paths = write_mined(mined, tmp_path / "out", format=fmt)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [f"train.{fmt}", f"eval.{fmt}", "train_documents.tsv", "eval_documents.tsv", "summary.json"]
    )
    for role in ("train", "eval"):
        columns = Columns(label="label", phase="phase", group="category")
        loaded = load_pairs(DataSpec(path=paths[role], columns=columns))
        assert rows(loaded) == rows(getattr(mined, role))
        assert loaded.groups == getattr(mined, role).groups  # sentence1's category, for group_mnrl
    assert load_documents(paths["train_documents"]) == mined.train_documents
    assert load_documents(paths["eval_documents"]) == mined.eval_documents
    assert json.loads(paths["summary"].read_text()) == json.loads(json.dumps(mined.summary))


def test_format_summary_shows_phases_bands_and_categories(mined):
    text = format_summary(mined.summary)
    assert "train pairs: 180 (90 positive, 90 negative)" in text
    assert "eval pairs (balanced): 30 (15 positive, 15 negative)" in text
    assert "[0.30, 1.00]" in text and "[0.15, 0.30)" in text and "gamma" in text


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"phases": {"1": {"positive": (0.5, 0.2), "negative": (0.0, 0.1)}}}, "low < high"),
        ({"phases": {}}, "at least one phase"),
        ({"eval_fraction": 1.0}, "less than 1"),
        ({"ngram_range": (2, 1)}, "ngram_range"),
        ({"pairs": 3}, "Extra inputs"),
    ],
)
def test_config_is_validated(values, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        MiningConfig(**values)


def test_too_few_categories_or_documents_are_user_errors():
    with pytest.raises(UserError, match="at least 2 categories"):
        mine_category_pairs(["a b", "c d", "e f"], ["x", "x", "x"])
    with pytest.raises(UserError, match="3 texts but 2 labels"):
        mine_category_pairs(["a b", "c d", "e f"], ["x", "y"])
    with pytest.raises(UserError, match="leaves no eval or train"):
        mine_category_pairs(["a b", "c d"], ["x", "y"])


@pytest.mark.slow
def test_default_bands_fill_on_the_real_tickets(tmp_path, shared_data):
    mined = mine_category_pairs(*load_documents(shared_data / "it_tickets" / "tickets.tsv"), MiningConfig())
    summary = mined.summary["train"]
    assert len(mined.train) == 3 * 2 * 8 * 60 and not summary["shortfalls"]
    assert mined.summary["documents"]["eval"] == 609 and len(mined.eval) == 8 * 2 * 40
    assert not set(mined.train_documents[0]) & set(mined.eval_documents[0])
    paths = write_mined(mined, tmp_path, format="tsv")
    loaded = load_pairs(DataSpec(path=paths["train"], columns=Columns(label="label", phase="phase")))
    assert rows(loaded) == rows(mined.train)


# --- what mine tells the user -------------------------------------------------------------------------------------


def small_category_documents() -> tuple[list[str], list[str]]:
    """The synthetic documents plus a category of 4: one held-out document, so no same-category eval pair."""
    texts, labels = synthetic_documents()
    return [*texts, *(f"delta{k} delta{k + 1} common{k} odd{k}" for k in range(4))], [*labels, *["delta"] * 4]


def test_balanced_eval_pairs_stay_balanced_when_a_category_is_short_of_positives():
    mined = mine_category_pairs(*small_category_documents(), mining_config(eval_pairs_per_category=8))
    by_category = mined.summary["eval"]["categories"]
    assert by_category["delta"] == {"positive": 0, "negative": 0}  # one eval document: its negatives are cut too
    assert all(counts["positive"] == counts["negative"] for counts in by_category.values())
    assert sum(mined.eval.labels) * 2 == len(mined.eval) > 0
    assert "negatives matched to positives per category" in format_summary(mined.summary)


def test_warnings_name_small_categories_and_categories_without_eval_positives(caplog):
    with caplog.at_level("WARNING", logger="embedtune.data.mining"):
        mined = mine_category_pairs(*small_category_documents(), mining_config())
    warnings = mined.summary["warnings"]
    small = next(w for w in warnings if w.startswith("too few documents"))
    assert (
        "delta (3 train, 1 eval)" in small and "about 10 at eval fraction 0.2" in small and "--eval-fraction" in small
    )
    assert any(w.startswith("no eval positives") and "delta" in w for w in warnings)
    assert all(w in caplog.text for w in warnings)
    text = format_summary(mined.summary)
    assert text.split("warnings:\n", 1)[1].count("\n  - ") == len(warnings) - 1


def test_warnings_cover_the_test_split_too():
    texts, labels = small_category_documents()
    texts, labels = [*texts, *(f"delta{k} extra{k}" for k in range(6))], [*labels, *["delta"] * 6]  # 10 deltas
    mined = mine_category_pairs(texts, labels, mining_config(test_fraction=0.1))
    assert mined.summary["categories"]["delta"]["test_documents"] == 1
    warnings = mined.summary["warnings"]
    assert any(w.startswith("too few documents for the test split") and "delta" in w for w in warnings), warnings
    assert any(w.startswith("no test positives") and "delta" in w for w in warnings), warnings


def test_a_phase_of_nearly_one_label_is_flagged_with_the_numbers():
    phases = {**SYNTHETIC_PHASES, "3": {"positive": (0.0, 0.15), "negative": (0.32, 1.0)}}  # few negatives there
    mined = mine_category_pairs(*synthetic_documents(), mining_config(phases=phases, pairs_per_category=30))
    stats = mined.summary["train"]["phases"]["3"]
    positives, negatives = stats["positive"]["pairs"], stats["negative"]["pairs"]
    assert positives >= 9 * negatives  # the premise: phase 3 is >= 90% positive
    share = f"{positives / (positives + negatives):.1%}"
    warning = next(w for w in mined.summary["warnings"] if w.startswith("train phase 3:"))
    assert f"{share} of its {positives + negatives} pairs are positives" in warning
    assert f"negative band [0.32, 1.00] holds {stats['negative']['available']} cross-category pairs" in warning
    assert not any(w.startswith(("train phase 1", "train phase 2")) for w in mined.summary["warnings"])


def test_summary_spells_out_short_bands_and_suggests_only_existing_options():
    mined = mine_category_pairs(*small_category_documents(), mining_config(pairs_per_category=500))
    text = format_summary(mined.summary)
    assert re.search(r"short bands: \w+ phase 1 positive \d+/500", text)
    assert re.search(r"short bands: .*delta positive 0/5", text)  # balanced eval pairs have no phase of their own
    assert not re.search(r"\bp(any|\d) (pos|neg)\b", text)
    options = set(re.findall(r"--[a-z][a-z-]+", text))
    assert options <= {"--eval-fraction", "--pairs-per-category", "--hard-negatives", "--delimiter"}
    with pytest.raises(UserError) as error:
        phases = {**SYNTHETIC_PHASES, "hard": {"positive": (0.0, 0.15), "negative": (0.97, 0.99)}}
        mine_category_pairs(*synthetic_documents(), mining_config(phases=phases))
    assert "widen or move" not in str(error.value) and "MiningConfig.phases" in str(error.value)


def test_the_starter_config_parses_and_trains_from_the_cli(monkeypatch, capsys, tmp_path, tiny_model_dir):
    from embedtune.config import load_config

    rows = [
        f"{sentence} {i}\t{topic}" for topic, sentences in TOPICS.items() for i, sentence in enumerate(sentences * 2)
    ]
    (tmp_path / "docs.tsv").write_text("text\tcategory\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "mined"
    code, printed, err = cli(
        monkeypatch, capsys, "mine", str(tmp_path / "docs.tsv"), "-o", str(out), "--format", "tsv"
    )
    assert code == 0, err
    assert f"next: embedtune train {out / 'config.yaml'} -o {Path('runs') / 'mined'}" in printed
    config = load_config(out / "config.yaml")
    assert config.loss.name == "group_mnrl" and config.model.name == "default"
    assert config.data.train.path == (out / "train.tsv").resolve() and config.data.train.columns.group == "category"
    assert [(e.task, e.path.name) for e in config.data.eval] == [("pairs", "eval.tsv"), ("knn", "eval_documents.tsv")]
    assert config.data.eval[1].index == (out / "train_documents.tsv").resolve()
    assert [p.phase for p in config.training.curriculum.phases] == ["1", "2", "3"]
    overrides = [f"model.name={tiny_model_dir}", "training.max_steps=2", "retention.enabled=false"]
    args = [
        "train",
        str(out / "config.yaml"),
        "-o",
        str(tmp_path / "run"),
        *(x for o in overrides for x in ("--set", o)),
    ]
    code, printed, err = cli(monkeypatch, capsys, *args)
    assert code == 0, err
    final = json.loads((tmp_path / "run" / "metrics.json").read_text())["final"]
    assert set(final) == {"docs_pairs", "docs_knn"}


def test_mine_reads_a_semicolon_file_with_delimiter_and_says_so_without(monkeypatch, capsys, tmp_path):
    rows = [f"{s} {i};{topic}" for topic, sentences in TOPICS.items() for i, s in enumerate(sentences * 2)]
    (tmp_path / "docs.csv").write_text("text;category\n" + "\n".join(rows) + "\n", encoding="utf-8")
    code, _, err = cli(monkeypatch, capsys, "mine", str(tmp_path / "docs.csv"), "-o", str(tmp_path / "a"))
    assert_one_line_error(code, err, "docs.csv:1:", "semicolon", "--delimiter ';'")
    code, _, err = cli(
        monkeypatch, capsys, "mine", str(tmp_path / "docs.csv"), "-o", str(tmp_path / "b"), "--delimiter", ";"
    )
    assert code == 0, err
    assert load_documents(tmp_path / "b" / "train_documents.tsv")[1][0] in TOPICS


@pytest.mark.parametrize("name", ["missing.txt", "missing.xlsx", "missing"])
def test_mine_says_file_not_found_before_any_format_advice(monkeypatch, capsys, tmp_path, name):
    code, _, err = cli(monkeypatch, capsys, "mine", str(tmp_path / name), "-o", str(tmp_path / "out"))
    assert_one_line_error(code, err, name, "file not found")
    assert "format" not in err


def test_a_test_fraction_holds_out_a_third_split_and_leaves_the_two_way_split_as_it_was(tmp_path):
    texts, labels = synthetic_documents()
    two = mine_category_pairs(texts, labels, mining_config())
    three = mine_category_pairs(texts, labels, mining_config(test_fraction=0.2))
    assert two.test is None and rows(mine_category_pairs(texts, labels, mining_config()).eval) == rows(two.eval)
    splits = [set(three.train_documents[0]), set(three.eval_documents[0]), set(three.test_documents[0])]
    assert not (splits[0] & splits[1] or splits[0] & splits[2] or splits[1] & splits[2])
    assert [len(s) for s in splits] == [54, 18, 18]  # 90 documents: eval and test each 20% of all
    assert sorted(three.test_documents[1]) == sorted(["alpha", "beta", "gamma"] * 6)
    assert set(three.test.texts()) <= splits[2] and three.summary["documents"]["test"] == 18
    paths = write_mined(three, tmp_path, format="tsv")
    assert paths["test"].name == "test.tsv" and paths["test_documents"].exists()


def test_mine_with_a_test_fraction_writes_a_test_suite_of_the_held_out_documents(monkeypatch, capsys, tmp_path):
    from embedtune.config import load_suite

    rows_ = [f"{s} {i}\t{topic}" for topic, sentences in TOPICS.items() for i, s in enumerate(sentences * 3)]
    (tmp_path / "docs.tsv").write_text("text\tcategory\n" + "\n".join(rows_) + "\n", encoding="utf-8")
    out = tmp_path / "mined"
    code, printed, err = cli(
        monkeypatch, capsys, "mine", str(tmp_path / "docs.tsv"), "-o", str(out), "--test-fraction", "0.2"
    )
    assert code == 0, err
    suite = load_suite(out / "test-suite.yaml")
    assert [(e.task, e.path.name) for e in suite] == [("pairs", "test.jsonl"), ("knn", "test_documents.tsv")]
    assert suite[1].index.name == "train_documents.tsv"  # test documents against the training documents
    code, _, err = cli(
        monkeypatch,
        capsys,
        "mine",
        str(tmp_path / "docs.tsv"),
        "-o",
        str(tmp_path / "x"),
        "--eval-fraction",
        "0.5",
        "--test-fraction",
        "0.5",
    )
    assert code == 2 and "test_fraction" in err
