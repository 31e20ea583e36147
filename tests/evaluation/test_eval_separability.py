from __future__ import annotations

import math

import numpy as np
import pytest
from fake_encoder import pairs_at

from embedtune.data.pairs import PairData
from embedtune.errors import UserError
from embedtune.evaluation.separability import SeparabilityEvaluator, histogram_overlap

KEYS = {"pos_mean", "neg_mean", "gap", "cohens_d", "overlap"}


def evaluate(cosines: list[float], labels: list[int], **kwargs) -> dict[str, float]:
    model, t1, t2 = pairs_at(cosines)
    return SeparabilityEvaluator(t1, t2, labels, name="sep", **kwargs)(model)


def test_known_answer_for_disjoint_classes():
    metrics = evaluate([0.9, 0.7, 0.1, -0.1], [1, 1, 0, 0])
    assert metrics["sep_pos_mean"] == pytest.approx(0.8, abs=1e-6)
    assert metrics["sep_neg_mean"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["sep_gap"] == pytest.approx(0.8, abs=1e-6)
    # Both classes have sample variance 0.02, so the pooled SD is sqrt(0.02).
    assert metrics["sep_cohens_d"] == pytest.approx(0.8 / math.sqrt(0.02), rel=1e-5)
    assert metrics["sep_overlap"] == 0.0


def test_identical_distributions_overlap_fully_with_no_gap():
    metrics = evaluate([0.5, 0.2, 0.5, 0.2], [1, 1, 0, 0])
    assert metrics["sep_gap"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["sep_cohens_d"] == pytest.approx(0.0, abs=1e-5)
    assert metrics["sep_overlap"] == pytest.approx(1.0)


def test_partial_overlap_is_sum_of_bin_minima():
    # bins=2 splits [-1, 1] at 0: positives 1/4 low, 3/4 high; negatives the reverse; overlap 1/4 + 1/4.
    metrics = evaluate([0.5, 0.5, 0.5, -0.5, -0.5, -0.5, -0.5, 0.5], [1, 1, 1, 1, 0, 0, 0, 0], bins=2)
    assert metrics["sep_overlap"] == pytest.approx(0.5)


def test_overlap_matches_numpy_histograms():
    rng = np.random.default_rng(0)
    values = np.clip(rng.normal(0.3, 0.3, size=200), -1, 1)
    positive = rng.random(200) < 0.4
    edges = np.linspace(-1, 1, 51)
    pos = np.histogram(values[positive], edges)[0] / positive.sum()
    neg = np.histogram(values[~positive], edges)[0] / (~positive).sum()
    got = histogram_overlap(values[None, :], positive[None, :], 50)[0]
    assert got == pytest.approx(np.minimum(pos, neg).sum())


def test_resampled_metrics_match_per_resample_computation():
    rng = np.random.default_rng(1)
    model, t1, t2 = pairs_at(list(rng.uniform(-0.9, 0.9, size=30)))
    labels = [i % 3 == 0 for i in range(30)]
    evaluator = SeparabilityEvaluator(t1, t2, [int(x) for x in labels], name="sep")
    items = evaluator.item_scores(model)
    index = rng.integers(0, 30, size=(7, 30))
    batched = evaluator.resampled_metrics({key: value[index] for key, value in items.items()})
    for b in range(7):
        cos, lab = items["cosine"][index[b]], items["label"][index[b]] == 1
        pos, neg = cos[lab], cos[~lab]
        pooled = math.sqrt(((len(pos) - 1) * pos.var(ddof=1) + (len(neg) - 1) * neg.var(ddof=1)) / (len(cos) - 2))
        assert batched["gap"][b] == pytest.approx(pos.mean() - neg.mean())
        assert batched["cohens_d"][b] == pytest.approx((pos.mean() - neg.mean()) / pooled)
    assert all(value.shape == (7,) for value in batched.values())


def test_resample_without_a_class_gives_nan_not_an_error():
    model, t1, t2 = pairs_at([0.9, 0.7, 0.1, -0.1])
    evaluator = SeparabilityEvaluator(t1, t2, [1, 1, 0, 0])
    items = evaluator.item_scores(model)
    only_positives = {key: value[[[0, 1, 0, 1]]] for key, value in items.items()}
    metrics = evaluator.resampled_metrics(only_positives)
    assert np.isnan(metrics["gap"][0]) and np.isnan(metrics["overlap"][0])


def test_encodes_once_and_sets_primary_metric():
    model, t1, t2 = pairs_at([0.9, 0.7, 0.1, -0.1])
    evaluator = SeparabilityEvaluator(t1, t2, [1, 1, 0, 0], name="sep")
    assert evaluator.primary_metric == "sep_gap" and evaluator.greater_is_better
    assert set(evaluator(model)) == {f"sep_{key}" for key in KEYS}
    assert len(model.calls) == 1
    np.testing.assert_allclose(evaluator.cosines(model), [0.9, 0.7, 0.1, -0.1], atol=1e-6)


@pytest.mark.parametrize(
    ("labels", "message"),
    [([1, 1, 0, 2], "labels 0 or 1"), ([1, 0, 0, 0], "at least 2 positive"), ([1, 1, 0], "different lengths")],
)
def test_unusable_labels_raise_user_error(labels, message):
    _, t1, t2 = pairs_at([0.9, 0.7, 0.1, -0.1])
    with pytest.raises(UserError, match=message):
        SeparabilityEvaluator(t1, t2, labels, source="hard.tsv")


def test_from_pairs_needs_labels():
    data = PairData(source="x.tsv", texts1=["a", "b"], texts2=["c", "d"])
    with pytest.raises(UserError, match="x.tsv: .*0/1 label"):
        SeparabilityEvaluator.from_pairs(data)


def test_on_tiny_model(tiny_model):
    t1 = ["the cat sat", "a dog runs", "the sun is warm", "he plays the guitar", "we eat food", "the sea"]
    t2 = ["a cat sat", "the dog ran", "rain in the city", "she reads a book", "we eat bread", "the tree"]
    evaluator = SeparabilityEvaluator(t1, t2, [1, 1, 0, 0, 1, 0], name="sep")
    metrics = evaluator(tiny_model)
    assert set(metrics) == {f"sep_{key}" for key in KEYS}
    assert all(np.isfinite(value) for value in metrics.values())
    assert -1 <= metrics["sep_neg_mean"] <= 1 and 0 <= metrics["sep_overlap"] <= 1
