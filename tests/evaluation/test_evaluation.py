from __future__ import annotations

import csv

import numpy as np
import pytest
from fake_encoder import FakeEncoder, pairs_at
from helpers import SENTENCES
from scipy import stats
from sklearn import metrics as skm
from sklearn.metrics import f1_score

from embedtune.data.pairs import PairData
from embedtune.errors import UserError
from embedtune.evaluation import PairClassificationEvaluator, STSEvaluator, encode_unique
from embedtune.evaluation import metrics as m

# --- encoding ---------------------------------------------------------------------------------------------------


def test_encode_unique_encodes_each_distinct_text_once_and_keeps_order():
    model = FakeEncoder({"a": [1, 0], "b": [0, 1], "c": [0.6, 0.8]})
    out = encode_unique(model, ["b", "a", "b", "c", "a"], batch_size=7)
    assert len(model.calls) == 1
    texts, kwargs = model.calls[0], model.kwargs[0]
    assert sorted(texts) == ["a", "b", "c"]
    assert kwargs["batch_size"] == 7 and kwargs["normalize_embeddings"] is True
    assert kwargs["convert_to_numpy"] is True and kwargs["show_progress_bar"] is False
    np.testing.assert_allclose(out, [[0, 1], [1, 0], [0, 1], [0.6, 0.8], [1, 0]])


def test_a_large_encode_through_the_embedding_cache_works(monkeypatch):
    """Above MULTI_PROCESS_MIN texts the encode asks the model for its device; the cache and its truncated view
    stand in for a model and have none (every eval set of 20,000 texts failed at the baseline)."""
    import embedtune.devices
    from embedtune.evaluation.embed import EmbeddingCache

    monkeypatch.setattr(embedtune.devices, "MULTI_PROCESS_MIN", 2)
    cache = EmbeddingCache(FakeEncoder({"a": [1, 0], "b": [0, 1], "c": [0.6, 0.8]}))
    np.testing.assert_allclose(encode_unique(cache, ["c", "a", "b"]), [[0.6, 0.8], [1, 0], [0, 1]], atol=1e-6)
    np.testing.assert_allclose(encode_unique(cache.truncated(1), ["c", "b"]), [[1], [0]], atol=1e-6)


def test_pair_classification_encodes_test_and_threshold_texts_in_one_call():
    model, t1, t2 = pairs_at([0.9, 0.8, 0.2, 0.1], "x")
    evaluator = PairClassificationEvaluator(t1, t2, [1, 1, 0, 0], threshold_pairs=(t1, t2[::-1], [0, 0, 1, 1]))
    evaluator(model)
    assert len(model.calls) == 1
    assert sorted(model.calls[0]) == ["anchor", "x0", "x1", "x2", "x3"]


def test_pair_cosines_matches_definition():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 5)), rng.normal(size=(20, 5))
    expected = [x @ y / np.linalg.norm(x) / np.linalg.norm(y) for x, y in zip(a, b)]
    np.testing.assert_allclose(m.pair_cosines(a, b), expected, rtol=1e-10)


# --- metric maths -----------------------------------------------------------------------------------------------


def test_separable_pairs_are_perfect():
    cosines = np.array([0.9, 0.85, 0.8, 0.7, 0.65, 0.3, 0.25, 0.2, 0.1, 0.05])
    labels = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    threshold = m.best_f1_threshold(cosines, labels)
    assert 0.3 < threshold < 0.65
    result = m.pair_classification_metrics(cosines, labels, threshold)
    assert result == {
        "roc_auc": 1.0,
        "average_precision": 1.0,
        "f1": 1.0,
        "accuracy": 1.0,
        "precision": 1.0,
        "recall": 1.0,
    }


def test_reversed_labels_give_zero_auc():
    cosines = np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1])
    assert m.pair_classification_metrics(cosines, [0, 0, 0, 1, 1, 1], 0.5)["roc_auc"] == 0.0


def test_threshold_rule_is_cosine_at_least_threshold():
    result = m.pair_classification_metrics([0.5, 0.4], [1, 0], threshold=0.5)
    assert result["recall"] == 1.0 and result["precision"] == 1.0


def test_sts_metrics_monotone_scores_give_spearman_one():
    cosines = np.linspace(-0.5, 0.9, 30)
    result = m.sts_metrics(cosines, np.exp(5 * cosines))
    assert result["spearman"] == pytest.approx(1.0)
    assert result["pearson"] < 0.99
    assert m.sts_metrics(cosines, -cosines)["spearman"] == pytest.approx(-1.0)


@pytest.mark.parametrize("seed", range(5))
def test_best_f1_threshold_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    cosines = np.round(rng.uniform(-1, 1, 60), 1)  # rounding creates ties
    labels = (cosines + rng.normal(0, 0.5, 60) > 0).astype(int)
    values = np.unique(cosines)
    candidates = np.concatenate([values[:1], (values[:-1] + values[1:]) / 2])
    best = max(f1_score(labels, cosines >= t) for t in candidates)
    assert f1_score(labels, cosines >= m.best_f1_threshold(cosines, labels)) == pytest.approx(best)


def test_cv_threshold_never_uses_held_out_fold():
    # Tuned on all items the threshold 0.45 is perfect, but whichever fold holds out the lone low positive (0.5)
    # learns a threshold above 0.5 from the other positives, so CV must misclassify it.
    negatives = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.4]
    positives = [0.5, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98]
    cosines, labels = np.array(negatives + positives), np.array([0] * 10 + [1] * 10)
    all_data = m.pair_classification_metrics(cosines, labels, m.best_f1_threshold(cosines, labels))
    assert all_data["f1"] == 1.0
    result = m.cv_threshold_metrics(cosines, labels, folds=5, seed=0)
    assert result["threshold"] == pytest.approx(0.45)
    assert result["recall"] == pytest.approx(0.9) and result["accuracy"] == pytest.approx(0.95)
    assert result["roc_auc"] == 1.0


def test_cv_threshold_is_chosen_on_training_folds_only(monkeypatch):
    rng = np.random.default_rng(1)
    cosines, labels = rng.uniform(size=40), np.array([0, 1] * 20)
    seen: list[np.ndarray] = []
    real = m.best_f1_threshold

    def spy(c, lab):
        seen.append(np.asarray(c).copy())
        return real(c, lab)

    monkeypatch.setattr(m, "best_f1_threshold", spy)
    m.cv_threshold_metrics(cosines, labels, folds=4)
    fold_calls = [s for s in seen if len(s) < len(cosines)]
    assert len(fold_calls) == 4 and all(len(s) == 30 for s in fold_calls)
    left_out = [set(cosines) - set(s) for s in fold_calls]
    assert sorted(x for part in left_out for x in part) == sorted(cosines)  # every item held out exactly once


# --- batched metric maths --------------------------------------------------------------------------------------


def random_rows(batch: int, n: int, tied: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B, n) scores, gold values correlated with them, and 0/1 labels; ``tied`` rounds scores to create ties."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(-1, 1, (batch, n))
    gold = scores + rng.normal(0, 0.7, (batch, n))
    labels = (gold > 0).astype(int)
    if tied:
        scores, gold = np.round(scores, 1), np.round(gold, 1)
    return scores, gold, labels


@pytest.mark.parametrize("tied", [False, True])
def test_average_ranks_match_scipy_rankdata(tied):
    scores, _, _ = random_rows(6, 40, tied)
    np.testing.assert_array_equal(m.average_ranks(scores), stats.rankdata(scores, axis=1))
    np.testing.assert_array_equal(m.average_ranks([[2.0, 2.0, 2.0], [3.0, 1.0, 3.0]]), [[2, 2, 2], [2.5, 1, 2.5]])


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("tied", [False, True])
def test_correlations_batched_match_scipy(batch, tied):
    scores, gold, _ = random_rows(batch, 50, tied)
    spearman, pearson = m.spearman_batched(scores, gold), m.pearson_batched(scores, gold)
    assert spearman.shape == pearson.shape == (batch,)
    for row in range(batch):
        assert spearman[row] == pytest.approx(stats.spearmanr(scores[row], gold[row]).statistic, abs=1e-12)
        assert pearson[row] == pytest.approx(stats.pearsonr(scores[row], gold[row]).statistic, abs=1e-12)


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("tied", [False, True])
def test_ranking_metrics_batched_match_sklearn(batch, tied):
    scores, _, labels = random_rows(batch, 60, tied, seed=1)
    auc, ap = m.roc_auc_batched(scores, labels), m.average_precision_batched(scores, labels)
    assert auc.shape == ap.shape == (batch,)
    for row in range(batch):
        assert auc[row] == pytest.approx(skm.roc_auc_score(labels[row], scores[row]), abs=1e-12)
        assert ap[row] == pytest.approx(skm.average_precision_score(labels[row], scores[row]), abs=1e-12)


@pytest.mark.parametrize("batch", [1, 9])
def test_prediction_metrics_batched_match_sklearn(batch):
    rng = np.random.default_rng(2)
    labels, predicted = rng.integers(0, 2, (batch, 40)), rng.integers(0, 2, (batch, 40))
    predicted[0] = 0  # no predicted positives: precision and F1 undefined, so 0
    result = m.binary_prediction_metrics_batched(predicted.astype(bool), labels)
    for row in range(batch):
        expected = m.prediction_metrics(predicted[row], labels[row])
        assert {key: values[row] for key, values in result.items()} == pytest.approx(expected, abs=1e-12)
    assert result["precision"][0] == 0 and result["f1"][0] == 0


def test_batched_metrics_undefined_rows_are_nan():
    scores = np.array([[0.1, 0.5, 0.9], [0.3, 0.3, 0.3], [0.2, 0.4, 0.6]])
    labels = np.array([[1, 1, 1], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(np.isnan(m.roc_auc_batched(scores, labels)), [True, False, True])
    np.testing.assert_array_equal(np.isnan(m.average_precision_batched(scores, labels)), [True, False, True])
    assert m.roc_auc_batched(scores, labels)[1] == 0.5  # all tied: a tie counts half
    gold = np.array([[1.0, 2.0, 3.0]] * 3)
    np.testing.assert_array_equal(np.isnan(m.spearman_batched(scores, gold)), [False, True, False])
    np.testing.assert_array_equal(np.isnan(m.pearson_batched(gold, scores)), [False, True, False])
    all_negative = m.binary_prediction_metrics_batched(np.zeros((1, 3), bool), np.zeros((1, 3)))
    assert {k: v.tolist() for k, v in all_negative.items()} == {
        "f1": [0.0],
        "accuracy": [1.0],
        "precision": [0.0],
        "recall": [0.0],
    }


def test_batched_metrics_reject_bad_shapes_and_labels():
    with pytest.raises(ValueError, match=r"\(B, n\)"):
        m.spearman_batched(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="shape"):
        m.roc_auc_batched(np.zeros((2, 5)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="0 or 1"):
        m.roc_auc_batched(np.zeros((1, 2)), np.array([[0.5, 1.0]]))


# --- evaluators -------------------------------------------------------------------------------------------------


def test_threshold_comes_from_threshold_pairs():
    # Test pairs alone would give a perfect threshold (0.7); the threshold pairs put it at 0.85.
    model, t1, t2 = pairs_at([0.9, 0.8, 0.6, 0.5], "test")
    thr_model, h1, h2 = pairs_at([0.95, 0.9, 0.8, 0.7], "thr")
    model.vectors.update(thr_model.vectors)
    evaluator = PairClassificationEvaluator(t1, t2, [1, 1, 0, 0], name="dev", threshold_pairs=(h1, h2, [1, 1, 0, 0]))
    result = evaluator(model)
    assert result["dev_threshold"] == pytest.approx(0.85)
    assert result["dev_recall"] == pytest.approx(0.5) and result["dev_precision"] == 1.0
    assert result["dev_roc_auc"] == 1.0


def test_from_pairs_uses_threshold_data():
    model, t1, t2 = pairs_at([0.9, 0.8, 0.6, 0.5], "test")
    thr_model, h1, h2 = pairs_at([0.95, 0.9, 0.8, 0.7], "thr")
    model.vectors.update(thr_model.vectors)
    data = PairData(source="test.tsv", texts1=t1, texts2=t2, labels=[1.0, 1.0, 0.0, 0.0])
    threshold_data = PairData(source="thr.tsv", texts1=h1, texts2=h2, labels=[1.0, 1.0, 0.0, 0.0])
    evaluator = PairClassificationEvaluator.from_pairs(data, "p", threshold_data=threshold_data)
    assert evaluator(model)["p_threshold"] == pytest.approx(0.85)


def test_cosines_method_returns_per_pair_cosines():
    model, t1, t2 = pairs_at([0.9, -0.2, 0.3], "x")
    np.testing.assert_allclose(STSEvaluator(t1, t2, [1, 0, 0.5]).cosines(model), [0.9, -0.2, 0.3], atol=1e-6)
    evaluator = PairClassificationEvaluator(t1 * 2, t2 * 2, [1, 0, 0] * 2, folds=2)
    np.testing.assert_allclose(evaluator.cosines(model), [0.9, -0.2, 0.3] * 2, atol=1e-6)


def test_sts_items_and_point_estimate_match_scalar_metrics():
    cosines = [0.9, -0.2, 0.3, 0.5, 0.1]
    model, t1, t2 = pairs_at(cosines, "x")
    gold = [1.0, 0.0, 0.5, 0.8, 0.1]
    evaluator = STSEvaluator(t1, t2, gold, name="s")
    items = evaluator.item_scores(model)
    assert set(items) == {"cosine", "gold"}
    np.testing.assert_allclose(items["cosine"], cosines, atol=1e-6)
    expected = m.sts_metrics(items["cosine"], gold)
    assert evaluator(model) == pytest.approx({f"s_{k}": v for k, v in expected.items()}, abs=1e-12)
    batched = evaluator.resampled_metrics({k: np.stack([v, v[::-1]]) for k, v in items.items()})
    assert {k: v.shape for k, v in batched.items()} == {"spearman": (2,), "pearson": (2,)}


def test_pair_items_carry_out_of_fold_predictions():
    rng = np.random.default_rng(3)
    cosines = list(np.round(rng.uniform(-0.9, 0.9, 30), 3))
    labels = [int(c + rng.normal(0, 0.3) > 0) for c in cosines]
    model, t1, t2 = pairs_at(cosines, "x")
    evaluator = PairClassificationEvaluator(t1, t2, labels, name="p", folds=3, seed=4)
    items = evaluator.item_scores(model)
    assert set(items) == {"cosine", "label", "predicted", "threshold"}
    np.testing.assert_array_equal(items["predicted"], m.cv_predictions(items["cosine"], labels, folds=3, seed=4))
    expected = m.cv_threshold_metrics(items["cosine"], labels, folds=3, seed=4)
    assert evaluator(model) == pytest.approx({f"p_{k}": v for k, v in expected.items()}, abs=1e-12)
    assert "threshold" not in evaluator.resampled_metrics({k: v[None] for k, v in items.items()})


def test_pair_items_with_threshold_pairs_predict_at_that_threshold():
    model, t1, t2 = pairs_at([0.9, 0.8, 0.6, 0.5], "test")
    thr_model, h1, h2 = pairs_at([0.95, 0.9, 0.8, 0.7], "thr")
    model.vectors.update(thr_model.vectors)
    evaluator = PairClassificationEvaluator(t1, t2, [1, 1, 0, 0], threshold_pairs=(h1, h2, [1, 1, 0, 0]))
    items = evaluator.item_scores(model)
    np.testing.assert_allclose(items["threshold"], 0.85)
    np.testing.assert_array_equal(items["predicted"], [True, False, False, False])


def test_sts_evaluator_on_tiny_model(tiny_model, tmp_path):
    t1, t2, scores, _ = zip(*SENTENCES)
    evaluator = STSEvaluator(t1, t2, scores, name="mysts")
    result = evaluator(tiny_model, output_path=str(tmp_path))
    assert set(result) == {"mysts_spearman", "mysts_pearson"}
    assert evaluator.primary_metric == "mysts_spearman" and evaluator.greater_is_better
    assert all(isinstance(v, float) and -1 <= v <= 1 for v in result.values())
    assert list(tmp_path.iterdir()) == []  # never writes files
    assert isinstance(evaluator.get_config_dict(), dict)


def test_pair_classification_evaluator_on_tiny_model(tiny_model, tmp_path):
    t1, t2, _, labels = zip(*SENTENCES)
    evaluator = PairClassificationEvaluator(t1, t2, labels, name="para", folds=2)
    result = evaluator(tiny_model, output_path=str(tmp_path))
    keys = ["roc_auc", "average_precision", "f1", "accuracy", "precision", "recall", "threshold"]
    assert set(result) == {f"para_{k}" for k in keys}
    assert evaluator.primary_metric == "para_roc_auc" and evaluator.primary_metric in result
    assert all(isinstance(v, float) and 0 <= v <= 1 for k, v in result.items() if k != "para_threshold")
    assert -1 <= result["para_threshold"] <= 1
    assert list(tmp_path.iterdir()) == []
    assert evaluator(tiny_model) == result  # deterministic


# --- user errors ------------------------------------------------------------------------------------------------


def test_non_binary_labels_raise_user_error_naming_source():
    data = PairData(source="graded.tsv", texts1=["a", "b"], texts2=["c", "d"], labels=[0.5, 1.0])
    with pytest.raises(UserError, match=r"graded\.tsv.*0 or 1"):
        PairClassificationEvaluator.from_pairs(data, "p")


def test_missing_labels_raise_user_error_naming_source():
    data = PairData(source="unlabelled.tsv", texts1=["a"], texts2=["b"])
    with pytest.raises(UserError, match=r"unlabelled\.tsv"):
        STSEvaluator.from_pairs(data, "s")
    with pytest.raises(UserError, match=r"unlabelled\.tsv"):
        PairClassificationEvaluator.from_pairs(data, "p")


def test_too_few_of_a_class_for_cv_raises_user_error():
    data = PairData(source="small.tsv", texts1=list("abcdefgh"), texts2=list("ijklmnop"), labels=[1] * 4 + [0] * 4)
    with pytest.raises(UserError, match=r"small\.tsv.*at least 5 positive"):
        PairClassificationEvaluator.from_pairs(data, "p", folds=5)
    PairClassificationEvaluator.from_pairs(data, "p", folds=4)


def test_bad_threshold_labels_and_lengths_raise_user_error():
    with pytest.raises(UserError, match=r"thr\.tsv"):
        data = PairData(source="t.tsv", texts1=["a", "b"], texts2=["c", "d"], labels=[1.0, 0.0])
        bad = PairData(source="thr.tsv", texts1=["a", "b"], texts2=["c", "d"], labels=[0.3, 0.0])
        PairClassificationEvaluator.from_pairs(data, "p", threshold_data=bad)
    with pytest.raises(UserError, match="different lengths"):
        STSEvaluator(["a", "b"], ["c"], [0.1, 0.2])


# --- real model -------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_minilm_stsb_dev_spearman(shared_data, minilm_dir):
    from sentence_transformers import SentenceTransformer

    with (shared_data / "stsb" / "dev.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    model = SentenceTransformer(str(minilm_dir), device="cpu")
    evaluator = STSEvaluator(
        [r["sentence1"] for r in rows], [r["sentence2"] for r in rows], [float(r["score"]) / 5 for r in rows]
    )
    result = evaluator(model)
    assert 0.85 < result["sts_spearman"] < 0.88
