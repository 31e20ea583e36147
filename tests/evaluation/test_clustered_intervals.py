"""Pairs that share a document are resampled together (cluster bootstrap), and the run says which was used."""

from __future__ import annotations

import numpy as np
from helpers import run_config

from embedtune.config import StatisticsConfig, parse_config
from embedtune.evaluation.compare import paired_statistics, resampling_groups
from embedtune.evaluation.sts import STSEvaluator
from embedtune.evaluation.suite import EvalSet, Measurement
from embedtune.pipeline import run_training


def evaluator(texts1: list[str]) -> STSEvaluator:
    n = len(texts1)
    return STSEvaluator(texts1, [f"b{i}" for i in range(n)], list(np.linspace(0, 1, n)), name="s")


def test_pairs_with_distinct_first_texts_are_resampled_as_items():
    groups, how = resampling_groups(evaluator([f"a{i}" for i in range(10)]))
    assert groups is None and how == "items"


def test_pairs_sharing_a_first_text_are_resampled_by_that_text():
    groups, how = resampling_groups(evaluator(["x", "y", "x", "z", "y"]))
    assert list(groups) == [0, 1, 0, 2, 1] and "3 clusters of 5 pairs" in how


def test_a_matryoshka_wrapped_pair_set_keeps_its_clusters():
    from embedtune.evaluation.matryoshka import MatryoshkaEvaluator

    texts1 = ["x", "y", "x", "z", "y"]
    wrapped = MatryoshkaEvaluator.wrapping(
        STSEvaluator, [8, 16], "s", texts1=texts1, texts2=[f"b{i}" for i in range(5)], scores=list(range(5))
    )
    groups, how = resampling_groups(wrapped)
    assert list(groups) == [0, 1, 0, 2, 1] and "3 clusters of 5 pairs" in how


def test_shared_documents_widen_the_interval_honestly():
    """20 documents, each the anchor of 10 pairs with the same scores: really 20 observations, not 200."""
    rng = np.random.default_rng(0)
    anchors = np.repeat(np.arange(20), 10)
    gold = rng.random(20)[anchors]
    before, after = (gold + rng.normal(0, s, 20)[anchors] for s in (0.3, 0.2))
    items = {"a": {"cosine": before, "gold": gold}, "b": {"cosine": after, "gold": gold}}
    widths = {}
    for name, texts in (("clustered", [f"doc{a}" for a in anchors]), ("flat", [f"t{i}" for i in range(200)])):
        ev = evaluator(texts)
        eval_set = EvalSet("s", None, None, ev)
        first, second = (Measurement({}, {"s": items[key]}) for key in ("a", "b"))
        record = paired_statistics([eval_set], first, second, StatisticsConfig(resamples=500))["s"]["s_spearman"]
        widths[name] = record["delta_high"] - record["delta_low"]
        assert record["resampling"].startswith("clusters" if name == "clustered" else "items")
    assert widths["clustered"] > 2 * widths["flat"]  # the flat interval pretends to ten times the data


def test_the_report_says_which_resampling_was_used(tmp_path, tiny_model_dir):
    run_training(parse_config(run_config(tmp_path, tiny_model_dir)), tmp_path / "run")
    assert "**resampling**: toy: items" in (tmp_path / "run" / "report.md").read_text()
