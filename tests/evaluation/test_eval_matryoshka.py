from __future__ import annotations

import numpy as np
import pytest
from fake_encoder import FakeEncoder

from embedtune.errors import UserError
from embedtune.evaluation.embed import EmbeddingCache, truncate_embeddings
from embedtune.evaluation.isotropy import IsotropyEvaluator
from embedtune.evaluation.matryoshka import MatryoshkaEvaluator
from embedtune.evaluation.separability import SeparabilityEvaluator

# The first two dimensions separate positives from negatives; the last two say the opposite.
VECTORS = {
    "a": [1, 0, 0, 1],
    "a+": [1, 0.1, 1, 0],
    "b": [0, 1, 1, 0],
    "b+": [0.1, 1, 0, 1],
    "a-": [0, 1, 0, 1],
    "b-": [1, 0, 1, 0],
}
PAIRS = (["a", "b", "a", "b"], ["a+", "b+", "a-", "b-"], [1, 1, 0, 0])


def separability(dims=(2, 4), name="m") -> MatryoshkaEvaluator:
    return MatryoshkaEvaluator.wrapping(
        SeparabilityEvaluator, dims, name, texts1=PAIRS[0], texts2=PAIRS[1], labels=PAIRS[2]
    )


def truncated_model(dim: int) -> FakeEncoder:
    return FakeEncoder({text: np.asarray(vector[:dim], dtype=float) for text, vector in VECTORS.items()})


def test_truncate_embeddings_keeps_first_dims_and_renormalises():
    out = truncate_embeddings(np.array([[0.6, 0.8, 0.0], [0.0, 0.6, 0.8]]), 2)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 1.0]], atol=1e-6)
    with pytest.raises(UserError, match="cannot truncate 3-dimensional embeddings to 4"):
        truncate_embeddings(np.ones((1, 3)), 4)


def test_cache_encodes_each_text_once_across_calls():
    model = FakeEncoder(VECTORS)
    cache = EmbeddingCache(model)
    cache.truncated(2).encode(["a", "b", "a"])
    cache.truncated(4).encode(["b", "a+"])
    assert model.calls == [["a", "b"], ["a+"]]


def test_metrics_at_each_size_equal_the_inner_evaluator_on_truncated_vectors():
    model = FakeEncoder(VECTORS)
    metrics = separability()(model)
    assert len(model.calls) == 1  # encoded once at full size for both sizes
    for dim in (2, 4):
        inner = SeparabilityEvaluator(*PAIRS, name=f"m_{dim}")(truncated_model(dim))
        assert {key: metrics[key] for key in inner} == pytest.approx(inner)
    assert metrics["m_2_gap"] > 0.5 > metrics["m_4_gap"]  # the known answer: only the first half separates
    assert len(metrics) == 2 * 5


def test_items_are_prefixed_by_size_and_resample_per_size():
    evaluator = separability()
    items = evaluator.item_scores(FakeEncoder(VECTORS))
    assert set(items) == {"2_cosine", "2_label", "4_cosine", "4_label"}
    index = np.array([[0, 1, 2, 3], [0, 0, 2, 2]])
    batched = evaluator.resampled_metrics({key: value[index] for key, value in items.items()})
    inner = evaluator.inner[2].resampled_metrics(
        {"cosine": items["2_cosine"][index], "label": items["2_label"][index]}
    )
    np.testing.assert_allclose(batched["2_gap"], inner["gap"])
    assert batched["4_overlap"].shape == (2,)


def test_primary_metric_and_dimension_curve():
    evaluator = separability(dims=[4, 2, 4])
    assert evaluator.dims == [2, 4] and evaluator.primary_metric == "m_4_gap" and evaluator.greater_is_better
    metrics = evaluator(FakeEncoder(VECTORS))
    assert evaluator.dimension_curve(metrics) == [(2, metrics["m_2_gap"]), (4, metrics["m_4_gap"])]
    assert [dim for dim, _ in evaluator.dimension_curve(metrics, "overlap")] == [2, 4]


def test_each_call_encodes_afresh():
    evaluator = separability()
    first = evaluator(FakeEncoder(VECTORS))
    swapped = {text: vector[2:] + vector[:2] for text, vector in VECTORS.items()}
    second = evaluator(FakeEncoder(swapped))
    assert second["m_2_gap"] < 0 < first["m_2_gap"]


def test_wraps_a_non_bootstrappable_evaluator():
    model = FakeEncoder(VECTORS)
    evaluator = MatryoshkaEvaluator(lambda dim, name: IsotropyEvaluator(list(VECTORS), name=name), [2, 4], "geo")
    metrics = evaluator(model)
    assert not evaluator.bootstrappable and len(model.calls) == 1
    expected = IsotropyEvaluator(list(VECTORS), name="geo_2")(truncated_model(2))
    assert {key: metrics[key] for key in expected} == pytest.approx(expected)
    assert evaluator.primary_metric == "geo_4_isotropy" and len(metrics) == 10  # 5 isotropy metrics at each of 2 sizes
    with pytest.raises(NotImplementedError):
        evaluator.item_scores(model)


@pytest.mark.parametrize("dims", [[], [0, 4], [2.5]])
def test_bad_dims_raise_user_error(dims):
    with pytest.raises(UserError, match="dims must be a non-empty list of positive integers"):
        separability(dims=dims)


def test_size_above_the_model_raises_user_error():
    with pytest.raises(UserError, match="4-dimensional embeddings to 8"):
        separability(dims=[2, 8])(FakeEncoder(VECTORS))


def test_on_tiny_model(tiny_model):
    t1 = ["the cat sat", "a dog runs", "the sun is warm", "he plays the guitar", "we eat food", "the sea"]
    t2 = ["a cat sat", "the dog ran", "rain in the city", "she reads a book", "we eat bread", "the tree"]
    evaluator = MatryoshkaEvaluator.wrapping(
        SeparabilityEvaluator, [8, 16, 32], "sep", texts1=t1, texts2=t2, labels=[1, 1, 0, 0, 1, 0]
    )
    metrics = evaluator(tiny_model)
    assert len(metrics) == 15 and evaluator.primary_metric == "sep_32_gap"
    full = SeparabilityEvaluator(t1, t2, [1, 1, 0, 0, 1, 0], name="full")(tiny_model)
    assert metrics["sep_32_gap"] == pytest.approx(full["full_gap"], abs=1e-5)  # 32 = full size: no change
    assert len(evaluator.dimension_curve(metrics)) == 3
