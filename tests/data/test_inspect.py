"""Data inspection: counts on hand-made data with known duplicates, contradictions, near duplicates and leakage."""

from __future__ import annotations

import json

import pytest

from embedtune.data.inspect import format_inspection, inspect_pairs
from embedtune.data.pairs import PairData

ROWS = [
    ("the cat sat on the mat", "a cat is sitting on a mat", 1.0, "train"),  # line 2
    ("the dog runs in the park", "a man is cooking", 0.0, "train"),  # line 3
    ("a cat is sitting on a mat", "the cat sat on the mat", 1.0, "train"),  # line 4: duplicate of 2 (reversed)
    ("the dog runs in the park", "a man is cooking", 1.0, "train"),  # line 5: contradicts 3
    ("she plays the piano every evening at home", "he plays the guitar", 0.0, "dev"),  # line 6
    ("she plays the piano every evening at home!", "he plays the guitar", 0.0, "dev"),  # line 7: near dup of 6
    ("the sun is warm today", "it is raining in the city", 0.0, "dev"),  # line 8
    ("snow falls at night", "a cold wind blows", 0.8, "train"),  # line 9
    ("snow falls at night", "a cold wind blows", 0.75, "train"),  # line 10: differs, not a contradiction
]


def scored() -> PairData:
    return PairData(
        source="train.tsv",
        texts1=[r[0] for r in ROWS],
        texts2=[r[1] for r in ROWS],
        labels=[r[2] for r in ROWS],
        phases=[r[3] for r in ROWS],
        lines=[i + 2 for i in range(len(ROWS))],
    )


def test_label_balance_overall_and_per_phase():
    report = inspect_pairs(scored())
    labels = report["labels"]
    assert (labels["count"], labels["positive"], labels["negative"]) == (9, 5, 4)
    assert labels["positive_share"] == pytest.approx(5 / 9)
    assert labels["counts"] == {"0": 4, "0.75": 1, "0.8": 1, "1": 3}
    assert list(report["phases"]) == ["train", "dev"]
    assert report["phases"]["train"]["rows"] == 6 and report["phases"]["dev"]["rows"] == 3
    assert report["phases"]["train"]["labels"]["positive"] == 5
    assert report["phases"]["dev"]["labels"]["positive"] == 0


def test_many_distinct_labels_become_a_histogram():
    data = PairData(
        source="s", texts1=[f"a{i}" for i in range(20)], texts2=["b"] * 20, labels=[i / 19 for i in range(20)]
    )
    labels = inspect_pairs(data)["labels"]
    assert "counts" not in labels
    assert sum(b["count"] for b in labels["histogram"]) == 20 and len(labels["histogram"]) == 5


def test_length_statistics_per_column():
    data = PairData(source="s", texts1=["a b", "a b c d", "   "], texts2=["xyz", "x", "xy z"])
    lengths = inspect_pairs(data)["lengths"]
    assert set(lengths) == {"text1", "text2"}
    assert lengths["text1"]["tokens"]["min"] == 0 and lengths["text1"]["tokens"]["max"] == 4
    assert lengths["text1"]["tokens"]["median"] == 2.0
    assert lengths["text1"]["empty"] == 1
    assert lengths["text2"]["chars"] == {"min": 1, "median": 3.0, "mean": pytest.approx(8 / 3), "p95": 3.9, "max": 4}


def test_exact_duplicates_are_order_insensitive_with_lines():
    duplicates = inspect_pairs(scored())["duplicates"]
    # line 4 reverses line 2, line 5 repeats line 3 (other label), line 10 repeats line 9
    assert duplicates["count"] == 3
    assert duplicates["examples"] == [
        {"line": 4, "first_line": 2},
        {"line": 5, "first_line": 3},
        {"line": 10, "first_line": 9},
    ]


def test_contradictory_labels_name_their_lines():
    contradictions = inspect_pairs(scored())["contradictions"]
    assert contradictions["label_conflicts"] == 1 and contradictions["count"] == 1
    assert contradictions["label_disagreements"] == 2  # 0.8 vs 0.75 differs but is below the gap
    (example,) = contradictions["examples"]
    assert example["lines"] == [3, 5] and example["labels"] == [0.0, 1.0]
    tighter = inspect_pairs(scored(), contradiction_gap=0.05)["contradictions"]
    assert tighter["label_conflicts"] == 2


def test_triplet_negative_that_is_also_a_positive_is_a_contradiction():
    data = PairData(
        source="t.jsonl",
        texts1=["q", "q", "r"],
        texts2=["p", "n", "s"],
        negatives=["n", "x", "q"],
        lines=[1, 2, 3],
    )
    report = inspect_pairs(data)
    contradictions = report["contradictions"]
    assert contradictions["negative_is_positive"] == 1
    assert contradictions["examples"][0]["lines"] == [1, 2]
    assert set(report["lengths"]) == {"text1", "text2", "negative"}
    assert report["labels"] is None and report["phases"] is None


def test_near_duplicates_exclude_exact_ones():
    near = inspect_pairs(scored())["near_duplicates"]
    assert near["distinct_pairs"] == 6 and not near["truncated"]
    assert near["count"] == 1 and near["rows"] == 2
    (example,) = near["examples"]
    assert (example["line"], example["other_line"]) == (6, 7)
    assert 0.9 <= example["similarity"] < 1.0
    assert inspect_pairs(scored(), near_duplicate_threshold=0.999)["near_duplicates"]["count"] == 0


def test_near_duplicate_search_is_capped_and_says_so():
    data = PairData(source="s", texts1=[f"text number {i}" for i in range(30)], texts2=["same other side"] * 30)
    near = inspect_pairs(data, near_duplicate_threshold=0.5, max_near_duplicate_rows=10)["near_duplicates"]
    assert near["truncated"] and near["checked_pairs"] == 10 and near["distinct_pairs"] == 30
    assert near["count"] == 45  # every pair among the 10 checked rows is similar at 0.5
    assert "only the first 10 of 30" in format_inspection(inspect_pairs(data, max_near_duplicate_rows=10))


def test_tiny_texts_do_not_break_near_duplicates():
    data = PairData(source="s", texts1=["a", "b"], texts2=["", "c"])
    assert inspect_pairs(data)["near_duplicates"]["count"] == 0


def test_leakage_counts_shared_texts_and_pairs():
    other = PairData(
        source="eval.tsv",
        texts1=["the cat sat on the mat", "unrelated query"],
        texts2=["a cat is sitting on a mat", "snow falls at night"],
    )
    leakage = inspect_pairs(scored(), eval_data=other)["leakage"]
    assert leakage["eval_source"] == "eval.tsv"
    assert leakage["shared_texts"] == 3 and leakage["shared_pairs"] == 1
    assert leakage["examples"] == sorted(
        ["the cat sat on the mat", "a cat is sitting on a mat", "snow falls at night"]
    )
    assert inspect_pairs(scored())["leakage"] is None


def test_report_is_json_serialisable_and_formats():
    other = PairData(source="eval.tsv", texts1=["snow falls at night"], texts2=["zzz"])
    report = inspect_pairs(scored(), eval_data=other)
    assert json.loads(json.dumps(report)) == report
    text = format_inspection(report)
    for expected in (
        "train.tsv: 9 rows (scored)",
        "phase dev: 3 rows",
        "Exact duplicates: 3 rows",
        "lines 3, 5",
        "Near duplicates",
        "lines 6 and 7",
        "also appear in eval.tsv",
    ):
        assert expected in text, expected


def test_clean_data_formats_without_findings():
    data = PairData(source="clean.tsv", texts1=["alpha beta", "gamma delta"], texts2=["one two", "three four"])
    text = format_inspection(inspect_pairs(data, eval_data=PairData(source="e", texts1=["x"], texts2=["y"])))
    assert "Exact duplicates: none" in text and "Contradictions: none" in text
    assert "no texts shared with e" in text
