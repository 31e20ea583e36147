from __future__ import annotations

import math

import numpy as np
import pytest
from fake_encoder import FakeEncoder
from helpers import TOPICS

from embedtune.errors import UserError
from embedtune.evaluation.isotropy import IsotropyEvaluator, effective_rank, isotropy_metrics, mean_pairwise_cosine


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def gaussian(n: int = 2000, d: int = 32, seed: int = 0, offset: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    direction = np.zeros(d)
    direction[0] = offset
    return unit(rng.normal(size=(n, d)) + direction)


def evaluate(embeddings: np.ndarray) -> dict[str, float]:
    texts = [f"t{i}" for i in range(len(embeddings))]
    return IsotropyEvaluator(texts, name="iso")(FakeEncoder(dict(zip(texts, embeddings))))


def test_isotropic_gaussian_scores_near_one():
    """Why 0.9: Z(c)/n ~ 1 + c.mean + c'Sc/2 for unit vectors with c.w ~ N(0, 1/d). With n=2000, d=32 the
    eigenvalues of S = W'W/n spread by ~4/sqrt(nd) = 0.016 (Marchenko-Pastur) and |c.mean| ~ 1/sqrt(nd) = 0.004 per
    direction, so 1 - I(W) is ~0.02-0.03 (0.976-0.984 over ten seeds); 0.9 leaves a 3-4x margin."""
    metrics = evaluate(gaussian())
    assert metrics["iso_isotropy"] > 0.9
    assert metrics["iso_isotropy_rescaled"] > 0.88
    assert metrics["iso_effective_rank"] > 0.95 * 32  # singular values within ~13% of each other
    assert abs(metrics["iso_mean_cosine"]) < 0.01
    assert metrics["iso_std_per_dim"] == pytest.approx(1 / math.sqrt(32), rel=0.02)


def test_collapsed_embeddings_score_at_the_unit_vector_floor():
    """All vectors ~v: Z(v) = n e and Z(-v) = n / e, so I(W) = e^-2, the lowest possible for unit vectors."""
    rng = np.random.default_rng(1)
    collapsed = unit(rng.normal(size=32) + 1e-3 * rng.normal(size=(500, 32)))
    metrics = evaluate(collapsed)
    assert metrics["iso_isotropy"] == pytest.approx(math.exp(-2), abs=0.005)
    assert metrics["iso_isotropy_rescaled"] == pytest.approx(0.0, abs=0.01)
    assert metrics["iso_mean_cosine"] > 0.99
    assert metrics["iso_effective_rank"] < 1.2
    assert metrics["iso_std_per_dim"] < 0.01


def test_a_shared_direction_lowers_isotropy_step_by_step():
    results = [isotropy_metrics(gaussian(n=1000, offset=offset)) for offset in (0.0, 0.5, 1.0, 2.0)]
    isotropy = [r["isotropy"] for r in results]
    cosine = [r["mean_cosine"] for r in results]
    assert isotropy == sorted(isotropy, reverse=True) and isotropy[0] - isotropy[-1] > 0.3
    assert cosine == sorted(cosine)


def test_mean_pairwise_cosine_matches_brute_force():
    w = gaussian(n=40, d=5, offset=1.0)
    similarities = w @ w.T
    expected = (similarities.sum() - np.trace(similarities)) / (40 * 39)
    assert mean_pairwise_cosine(w) == pytest.approx(expected)


def test_effective_rank_counts_equally_used_directions():
    assert effective_rank(np.eye(4)) == pytest.approx(4.0)
    assert effective_rank(np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 1.0, 0]])) == pytest.approx(2.0)


def test_evaluator_dedupes_texts_and_is_not_bootstrappable():
    vectors = {"a": [1, 0], "b": [0, 1], "c": [-1, 0]}
    model = FakeEncoder(vectors)
    evaluator = IsotropyEvaluator(["a", "b", "a", "c"], name="iso")
    metrics = evaluator(model)
    assert set(metrics) == {
        "iso_mean_cosine",
        "iso_std_per_dim",
        "iso_isotropy",
        "iso_isotropy_rescaled",
        "iso_effective_rank",
    }
    assert metrics["iso_mean_cosine"] == pytest.approx((0 - 1 + 0) * 2 / 6)  # three distinct texts, six pairs
    assert model.calls == [["a", "b", "c"]]
    assert not evaluator.bootstrappable and evaluator.primary_metric == "iso_isotropy"
    with pytest.raises(NotImplementedError):
        evaluator.item_scores(model)


def test_fewer_than_two_distinct_texts_raise_user_error():
    with pytest.raises(UserError, match="texts.tsv: isotropy needs at least 2 distinct texts, got 1"):
        IsotropyEvaluator(["same", "same"], source="texts.tsv")


def test_on_tiny_model(tiny_model):
    texts = [text for topic in TOPICS.values() for text in topic]
    metrics = IsotropyEvaluator(texts)(tiny_model)
    assert math.exp(-2) - 1e-6 <= metrics["isotropy_isotropy"] <= 1
    assert 1 <= metrics["isotropy_effective_rank"] <= 24
    assert -1 <= metrics["isotropy_mean_cosine"] <= 1
