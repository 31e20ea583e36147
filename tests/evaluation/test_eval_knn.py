from __future__ import annotations

import logging

import numpy as np
import pytest
from fake_encoder import FakeEncoder, at_angle
from helpers import TOPICS
from sklearn.metrics import f1_score

from embedtune.errors import UserError
from embedtune.evaluation.knn import KNNEvaluator, knn_vote, macro_f1


def flip(vector: list[float]) -> list[float]:
    """Mirror a 2-d vector in the x axis: same cosine with [1, 0]."""
    return [vector[0], -vector[1]]


def test_known_predictions_accuracy_and_macro_f1():
    vectors = {"a1": [1, 0.1], "a2": [1, -0.1], "a3": [1, 0], "b1": [0.1, 1], "b2": [-0.1, 1], "b3": [0, 1]}
    vectors |= {"qa": [1, 0.2], "qb": [0.2, 1], "qx": [0.9, 0.3]}
    model = FakeEncoder(vectors)
    evaluator = KNNEvaluator(
        ["a1", "a2", "a3", "b1", "b2", "b3"], list("AAABBB"), ["qa", "qb", "qx"], ["A", "B", "B"], name="k", k=3
    )
    items = evaluator.item_scores(model)
    np.testing.assert_array_equal(items["predicted"], [0, 1, 0])  # qx is nearer the A cluster but labelled B
    np.testing.assert_array_equal(items["true"], [0, 1, 1])
    model.calls.clear()
    metrics = evaluator(model)
    assert metrics["k_accuracy"] == pytest.approx(2 / 3)
    # A: precision 1/2, recall 1 -> F1 2/3; B: precision 1, recall 1/2 -> F1 2/3.
    assert metrics["k_macro_f1"] == pytest.approx(2 / 3)
    assert evaluator.primary_metric == "k_accuracy" and evaluator.classes == ["A", "B"]
    assert len(model.calls) == 1


def test_vote_tie_goes_to_larger_summed_similarity():
    # k=2: one A neighbour and one B neighbour; the closer one decides.
    index_labels = np.array([0, 1])
    assert knn_vote(np.array([[0.9, 0.8]]), index_labels, 2, 2).tolist() == [0]
    assert knn_vote(np.array([[0.7, 0.8]]), index_labels, 2, 2).tolist() == [1]


def test_majority_beats_summed_similarity():
    # Two weak B votes outnumber one strong A vote.
    assert knn_vote(np.array([[0.99, 0.3, 0.3]]), np.array([0, 1, 1]), 3, 2).tolist() == [1]


def test_full_tie_goes_to_first_label_in_sorted_order():
    vectors = {"z": at_angle(0.5), "a": flip(at_angle(0.5)), "far": [-1, 0], "q": [1, 0]}
    evaluator = KNNEvaluator(["z", "a", "far"], ["zeta", "alpha", "zeta"], ["q"], ["zeta"], k=2)
    assert evaluator.item_scores(FakeEncoder(vectors))["predicted"].tolist() == [0]  # "alpha" sorts first
    assert evaluator.classes == ["alpha", "zeta"]


def test_macro_f1_matches_sklearn_on_every_resample():
    rng = np.random.default_rng(0)
    true, predicted = rng.integers(0, 4, size=(6, 25)), rng.integers(0, 4, size=(6, 25))
    predicted[0] = true[0]
    predicted[1] = np.where(true[1] == 3, 0, true[1])  # class 3 never predicted
    true[2] = np.where(true[2] == 2, 1, true[2])  # class 2 never true
    got = macro_f1(predicted, true, 5)  # class 4 occurs nowhere and is left out, as in sklearn
    expected = [f1_score(t, p, average="macro") for t, p in zip(true, predicted)]
    np.testing.assert_allclose(got, expected)
    assert got[0] == 1.0


def test_resampled_metrics_shapes():
    model = FakeEncoder({"i0": [1, 0], "i1": [0, 1], "q0": [1, 0.1], "q1": [0.1, 1]})
    evaluator = KNNEvaluator(["i0", "i1"], ["x", "y"], ["q0", "q1"], ["x", "x"], k=1)
    items = evaluator.item_scores(model)
    index = np.array([[0, 0], [1, 1], [0, 1]])
    metrics = evaluator.resampled_metrics({key: value[index] for key, value in items.items()})
    np.testing.assert_allclose(metrics["accuracy"], [1.0, 0.0, 0.5])
    assert metrics["macro_f1"].shape == (3,)


def test_from_documents_splits_stratified_and_disjoint():
    texts = [f"doc {i}" for i in range(50)]
    labels = ["a"] * 30 + ["b"] * 15 + ["c"] * 5
    evaluator = KNNEvaluator.from_documents(texts, labels, index_fraction=0.8, seed=3, k=3)
    assert len(evaluator.index_texts) == 40 and len(evaluator.query_texts) == 10
    assert set(evaluator.index_texts) | set(evaluator.query_texts) == set(texts)
    assert sorted(np.bincount(evaluator.query_labels).tolist()) == [1, 3, 6]  # 20% of each category
    again = KNNEvaluator.from_documents(texts, labels, index_fraction=0.8, seed=3, k=3)
    assert again.query_texts == evaluator.query_texts


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"k": 9}, "k must be between 1 and the 4"), ({"query_labels": ["a"]}, "2 query texts but 1 labels")],
)
def test_unusable_settings_raise_user_error(kwargs, message):
    args = {"index_texts": list("abcd"), "index_labels": list("xxyy"), "query_texts": ["e", "f"]}
    args |= {"query_labels": ["x", "y"], "source": "docs.tsv"} | kwargs
    with pytest.raises(UserError, match=f"docs.tsv: {message}"):
        KNNEvaluator(**args)


def test_index_fraction_leaving_no_queries_raises_user_error():
    with pytest.raises(UserError, match="leaves no queries"):
        KNNEvaluator.from_documents(["a", "b", "c"], ["x", "y", "x"], index_fraction=0.9)


def test_on_tiny_model(tiny_model):
    texts = [text for topic in TOPICS.values() for text in topic]
    labels = [topic for topic, topic_texts in TOPICS.items() for _ in topic_texts]
    evaluator = KNNEvaluator.from_documents(texts, labels, name="topics", index_fraction=0.75, k=3)
    metrics = evaluator(tiny_model)
    assert set(metrics) == {"topics_accuracy", "topics_macro_f1"}
    assert all(0 <= value <= 1 for value in metrics.values())


def test_query_texts_found_in_the_index_are_logged(caplog):
    with caplog.at_level(logging.WARNING):
        KNNEvaluator(["a", "b"], ["x", "y"], ["a", "c"], ["x", "y"], k=1, source="docs.tsv")
    assert "docs.tsv: 1 query texts are also in the index" in caplog.text
