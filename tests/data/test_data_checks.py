"""Duplicate and leakage checks: they warn with the file and line so the user can find the rows."""

from __future__ import annotations

import logging

from embedtune.data import PairData, warn_data_issues
from embedtune.data.checks import find_duplicate_pairs, find_leakage


def pairs(source: str, rows: list[tuple[str, str]], lines: list[int] | None = None, negatives=None) -> PairData:
    return PairData(
        source=source,
        texts1=[a for a, _ in rows],
        texts2=[b for _, b in rows],
        negatives=negatives,
        lines=lines if lines is not None else [i + 2 for i in range(len(rows))],
    )


def test_duplicates_are_order_insensitive_and_use_file_lines():
    data = pairs("t.tsv", [("a", "b"), ("c", "d"), ("b", "a"), ("a", "b"), ("c", "d")], lines=[2, 3, 5, 6, 9])
    assert find_duplicate_pairs(data) == [(2, 5), (2, 6), (3, 9)]


def test_duplicates_are_case_sensitive_and_exact():
    data = pairs("t.tsv", [("a", "b"), ("A", "b"), ("a", "b."), ("a", "B")])
    assert find_duplicate_pairs(data) == []


def test_duplicates_fall_back_to_row_numbers_without_lines():
    data = pairs("t.tsv", [("x", "y"), ("x", "y")], lines=[])
    assert find_duplicate_pairs(data) == [(1, 2)]


def test_same_text_on_both_sides_is_not_a_duplicate_of_itself():
    data = pairs("t.tsv", [("x", "x"), ("x", "y")])
    assert find_duplicate_pairs(data) == []


def test_leakage_covers_both_sides_and_negatives():
    train = pairs("train.tsv", [("a", "b")], negatives=["n"])
    other = pairs("dev.tsv", [("b", "z"), ("q", "n"), ("A", "c")])
    assert find_leakage(train, other) == {"b", "n"}
    assert find_leakage(train, pairs("test.tsv", [("x", "y")])) == set()


def test_clean_data_gives_no_warnings(caplog):
    train = pairs("train.tsv", [("a", "b"), ("c", "d")])
    with caplog.at_level(logging.WARNING, logger="embedtune"):
        assert warn_data_issues(train, [pairs("dev.tsv", [("e", "f")])]) == []
    assert caplog.records == []


def test_duplicate_warning_names_file_count_and_first_lines(caplog):
    train = pairs("train.tsv", [("a", "b"), ("c", "d"), ("b", "a"), ("c", "d")], lines=[2, 3, 7, 8])
    with caplog.at_level(logging.WARNING, logger="embedtune"):
        messages = warn_data_issues(train, [])
    assert messages == ["train.tsv: 2 duplicate pairs (first at line 7, repeats line 2)"]
    assert [r.getMessage() for r in caplog.records] == messages
    assert all(r.name == "embedtune" and r.levelno == logging.WARNING for r in caplog.records)


def test_one_leakage_warning_per_eval_set(caplog):
    train = pairs("train.tsv", [("shared text", "b"), ("c", "d")])
    dev = pairs("dev.tsv", [("x", "shared text"), ("c", "y")])
    clean = pairs("clean.tsv", [("p", "q")])
    test = pairs("test.tsv", [("d", "z")])
    with caplog.at_level(logging.WARNING, logger="embedtune"):
        messages = warn_data_issues(train, [dev, clean, test])
    assert messages == [
        "2 texts appear in both train.tsv and dev.tsv (e.g. 'c'); metrics on dev.tsv may be optimistic",
        "1 texts appear in both train.tsv and test.tsv (e.g. 'd'); metrics on test.tsv may be optimistic",
    ]
    assert [r.getMessage() for r in caplog.records] == messages


def test_leakage_example_is_clipped(caplog):
    long_text = "word " * 40
    train = pairs("train.tsv", [(long_text, "b")])
    with caplog.at_level(logging.WARNING, logger="embedtune"):
        (message,) = warn_data_issues(train, [pairs("dev.tsv", [(long_text, "z")])])
    assert "(e.g. 'word word" in message and "...'" in message
    assert len(message) < 200
