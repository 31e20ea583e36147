"""Bootstrap intervals and paired comparisons, mostly on synthetic item dicts (no model needed)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from helpers import SENTENCES
from scipy import stats
from sklearn import metrics as skm

from embedtune.evaluation import PairClassificationEvaluator, STSEvaluator
from embedtune.evaluation import metrics as m
from embedtune.evaluation import pair_classification as pc
from embedtune.evaluation.base import ItemEvaluator
from embedtune.evaluation.bootstrap import bootstrap_intervals, paired_bootstrap, resample_indices

PAIR_KEYS = {"roc_auc", "average_precision", "f1", "accuracy", "precision", "recall"}
SUMMARY_KEYS = {
    "baseline",
    "final",
    "delta",
    "baseline_low",
    "baseline_high",
    "final_low",
    "final_high",
    "delta_low",
    "delta_high",
    "excludes_zero",
    "valid_resamples",
}


def sts_evaluator(n: int) -> STSEvaluator:
    """An STS evaluator over ``n`` placeholder pairs: synthetic items are fed to it directly."""
    return STSEvaluator(["a"] * n, [f"b{i}" for i in range(n)], np.zeros(n))


def sts_items(n: int, noise: float | None, seed: int = 0) -> dict[str, np.ndarray]:
    """Gold scores and cosines = gold + noise (``noise=None``: pure noise, unrelated to gold)."""
    rng = np.random.default_rng(seed)
    gold = rng.uniform(0, 1, n)
    cosine = rng.uniform(0, 1, n) if noise is None else gold + rng.normal(0, noise, n)
    return {"cosine": cosine, "gold": gold}


def pair_setup(n: int, signal: float, seed: int = 0, folds: int = 5) -> tuple[PairClassificationEvaluator, dict]:
    """A pair evaluator and items as its ``item_scores`` would make them: cosines = signal * label + noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2 == 0
    cosines = signal * labels + rng.normal(0, 0.3, n)
    evaluator = PairClassificationEvaluator(["a"] * n, [f"b{i}" for i in range(n)], labels, folds=folds, seed=seed)
    items = {
        "cosine": cosines,
        "label": labels,
        "predicted": m.cv_predictions(cosines, labels, folds, seed),
        "threshold": np.full(n, m.best_f1_threshold(cosines, labels)),
    }
    return evaluator, items


# --- resample indices -------------------------------------------------------------------------------------------


def test_resample_indices_are_seeded_and_chunk_independent():
    first = resample_indices(50, 250, seed=3)
    assert first.shape == (250, 50) and first.min() >= 0 and first.max() < 50
    np.testing.assert_array_equal(first, resample_indices(50, 250, seed=3))
    np.testing.assert_array_equal(first[:30], resample_indices(50, 30, seed=3))  # a prefix, whatever the count
    assert not np.array_equal(first, resample_indices(50, 250, seed=4))


def test_cluster_resamples_take_whole_groups():
    groups = np.array([7, 7, 7, 1, 2, 2, 9, 9, 9, 9])
    rows = resample_indices(len(groups), 40, seed=0, groups=groups)
    assert len(rows) == 40
    for row in rows:
        drawn = groups[row]
        for group in np.unique(drawn):
            members = np.flatnonzero(groups == group)
            count = np.sum(np.isin(row, members))
            assert count % len(members) == 0  # every drawn group comes with all of its items
    assert len({len(row) for row in rows}) > 1  # uneven groups: sizes vary
    equal = resample_indices(6, 5, seed=0, groups=np.array([0, 0, 1, 1, 2, 2]))
    assert all(len(row) == 6 for row in equal)
    with pytest.raises(ValueError, match="one id per item"):
        resample_indices(5, 3, groups=np.zeros(4))


# --- bootstrap intervals ----------------------------------------------------------------------------------------


def test_seeded_intervals_are_reproducible_and_seed_dependent():
    evaluator, items = sts_evaluator(200), sts_items(200, 0.3)
    first = bootstrap_intervals(evaluator, items, n_resamples=200, seed=1)
    assert set(first) == {"spearman", "pearson"}
    assert first == bootstrap_intervals(evaluator, items, n_resamples=200, seed=1)
    assert first != bootstrap_intervals(evaluator, items, n_resamples=200, seed=2)


def test_chunk_size_does_not_change_results():
    evaluator, items = pair_setup(120, 0.5)
    small = paired_bootstrap(evaluator, items, pair_setup(120, 0.8, seed=1)[1], 150, seed=5, chunk_size=7)
    large = paired_bootstrap(evaluator, items, pair_setup(120, 0.8, seed=1)[1], 150, seed=5, chunk_size=100)
    assert small == large


def test_intervals_equal_percentiles_of_naive_per_resample_loop():
    evaluator, items = sts_evaluator(80), sts_items(80, 0.4, seed=2)
    indices = resample_indices(80, 300, seed=9)
    naive = [stats.spearmanr(items["cosine"][i], items["gold"][i]).statistic for i in indices]
    low, high = bootstrap_intervals(evaluator, items, n_resamples=300, seed=9, confidence=0.9)["spearman"]
    np.testing.assert_allclose([low, high], np.percentile(naive, [5, 95]), atol=1e-12)


@pytest.mark.parametrize("kind", ["sts", "pairs"])
def test_intervals_contain_point_estimate(kind):
    if kind == "sts":
        evaluator, items = sts_evaluator(300), sts_items(300, 0.3)
    else:
        evaluator, items = pair_setup(300, 0.4)
    point = evaluator.metrics_from_items(items)
    intervals = bootstrap_intervals(evaluator, items, n_resamples=300, seed=0)
    for key, (low, high) in intervals.items():
        assert low <= point[key] <= high, key
        assert low < high, key


def test_undefined_resamples_are_ignored_and_counted():
    # 2 positives in 12 pairs: about one resample in eight draws neither, so ROC-AUC is undefined there.
    n = 12
    labels = np.zeros(n, dtype=bool)
    labels[:2] = True
    cosines = np.linspace(1, 0, n)
    evaluator = PairClassificationEvaluator(["a"] * n, [f"b{i}" for i in range(n)], labels, folds=2)
    items = {"cosine": cosines, "label": labels, "predicted": cosines > 0.9, "threshold": np.full(n, 0.9)}
    result = paired_bootstrap(evaluator, items, items, n_resamples=400, seed=0)
    assert 0 < 400 - result["roc_auc"]["valid_resamples"] < 120
    assert result["f1"]["valid_resamples"] == 400  # 0 when undefined, never NaN
    assert np.isfinite(result["roc_auc"]["baseline_low"])


def test_bad_arguments_raise_value_error():
    evaluator = sts_evaluator(10)
    with pytest.raises(ValueError, match="same items"):
        paired_bootstrap(evaluator, sts_items(10, 0.1), sts_items(11, 0.1))
    with pytest.raises(ValueError, match="one entry per item"):
        bootstrap_intervals(evaluator, {"cosine": np.zeros(3), "gold": np.zeros(4)})
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_intervals(evaluator, sts_items(10, 0.1), confidence=95)


def test_evaluators_that_are_not_bootstrappable_are_skipped():
    class WholeSet(ItemEvaluator):
        bootstrappable = False

        def resampled_metrics(self, items):
            raise AssertionError("must not be resampled")

    items = {"x": np.arange(5.0)}
    assert bootstrap_intervals(WholeSet(), items) == {}
    assert paired_bootstrap(WholeSet(), items, items) == {}


# --- paired comparisons -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sts", "pairs"])
def test_model_compared_with_itself_has_exactly_zero_delta(kind):
    evaluator, items = (sts_evaluator(150), sts_items(150, 0.5)) if kind == "sts" else pair_setup(150, 0.3)
    result = paired_bootstrap(evaluator, items, items, n_resamples=200, seed=0)
    assert set(result) == ({"spearman", "pearson"} if kind == "sts" else PAIR_KEYS)
    for key, summary in result.items():
        assert set(summary) == SUMMARY_KEYS
        assert summary["delta"] == 0.0 and summary["delta_low"] == 0.0 and summary["delta_high"] == 0.0, key
        assert summary["excludes_zero"] is False
        assert summary["baseline_low"] == summary["final_low"] and summary["baseline_high"] == summary["final_high"]


def test_clearly_better_sts_model_excludes_zero():
    evaluator, noise = sts_evaluator(200), sts_items(200, None, seed=0)
    better = {"cosine": noise["gold"] + np.random.default_rng(1).normal(0, 0.1, 200), "gold": noise["gold"]}
    result = paired_bootstrap(evaluator, noise, better, n_resamples=300, seed=0)
    for key in ("spearman", "pearson"):
        summary = result[key]
        assert summary["delta"] == pytest.approx(summary["final"] - summary["baseline"])
        assert summary["delta"] > 0.5 and summary["delta_low"] > 0 and summary["excludes_zero"] is True
        assert summary["baseline_low"] <= summary["baseline"] <= summary["baseline_high"]
    reverse = paired_bootstrap(evaluator, better, noise, n_resamples=300, seed=0)["spearman"]
    assert reverse["delta_high"] < 0 and reverse["excludes_zero"] is True


def test_clearly_better_pair_model_excludes_zero():
    evaluator, weak = pair_setup(200, 0.0)
    _, strong = pair_setup(200, 1.0, seed=1)
    result = paired_bootstrap(evaluator, weak, strong, n_resamples=300, seed=0)
    for key in ("roc_auc", "average_precision", "f1", "accuracy"):
        assert result[key]["excludes_zero"] is True and result[key]["delta_low"] > 0, key


def test_paired_delta_interval_uses_the_same_resamples_for_both_models():
    evaluator, base = sts_evaluator(60), sts_items(60, 0.6, seed=3)
    final = {"cosine": base["cosine"] + np.random.default_rng(4).normal(0, 0.2, 60), "gold": base["gold"]}
    deltas = [
        stats.pearsonr(final["cosine"][i], final["gold"][i]).statistic
        - stats.pearsonr(base["cosine"][i], base["gold"][i]).statistic
        for i in resample_indices(60, 200, seed=6)
    ]
    result = paired_bootstrap(evaluator, base, final, n_resamples=200, seed=6)["pearson"]
    np.testing.assert_allclose([result["delta_low"], result["delta_high"]], np.percentile(deltas, [2.5, 97.5]))


def test_cluster_bootstrap_matches_naive_evaluation_of_each_resample():
    evaluator, items = pair_setup(40, 0.4)
    groups = np.repeat(np.arange(13), [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 4, 3, 3])
    rows = resample_indices(40, 60, seed=2, groups=groups)
    naive = [skm.roc_auc_score(items["label"][r], items["cosine"][r]) for r in rows]
    low, high = bootstrap_intervals(evaluator, items, 60, seed=2, groups=groups, chunk_size=16)["roc_auc"]
    np.testing.assert_allclose([low, high], np.percentile(naive, [2.5, 97.5]), atol=1e-12)


# --- the pair evaluator never re-tunes its threshold on resampled items -------------------------------------------


def test_resampled_f1_uses_fixed_out_of_fold_predictions(monkeypatch):
    evaluator, items = pair_setup(100, 0.4, seed=8)
    cv = m.cv_threshold_metrics(items["cosine"], items["label"], folds=5, seed=8)
    identity = evaluator.resampled_metrics({k: v[None] for k, v in items.items()})
    for key in ("f1", "accuracy", "precision", "recall"):
        assert identity[key][0] == pytest.approx(cv[key], abs=1e-12), key

    def no_tuning(*args, **kwargs):
        raise AssertionError("a threshold was tuned during the bootstrap")

    for module in (m, pc):
        monkeypatch.setattr(module, "best_f1_threshold", no_tuning)
        monkeypatch.setattr(module, "cv_predictions", no_tuning, raising=False)
    result = paired_bootstrap(evaluator, items, items, n_resamples=50, seed=1)
    assert result["f1"]["baseline"] == pytest.approx(cv["f1"], abs=1e-12)
    rows = resample_indices(100, 50, seed=1)
    resampled = evaluator.resampled_metrics({k: v[rows] for k, v in items.items()})
    for b in (0, 17, 49):
        expected = skm.f1_score(items["label"][rows[b]], items["predicted"][rows[b]], zero_division=0)
        assert resampled["f1"][b] == pytest.approx(expected, abs=1e-12)


# --- full path on a model ---------------------------------------------------------------------------------------


def test_full_path_on_tiny_model(tiny_model):
    t1, t2, scores, labels = zip(*SENTENCES)
    for evaluator in (STSEvaluator(t1, t2, scores, name="s"), PairClassificationEvaluator(t1, t2, labels, folds=2)):
        items = evaluator.item_scores(tiny_model)
        called = evaluator(tiny_model)
        point = evaluator.metrics_from_items(items)
        assert called == {f"{evaluator.name}_{k}": v for k, v in point.items()}
        intervals = bootstrap_intervals(evaluator, items, n_resamples=100, seed=0)
        assert set(intervals) <= set(point) and "threshold" not in intervals
        paired = paired_bootstrap(evaluator, items, items, n_resamples=100, seed=0)
        assert all(s["delta"] == 0.0 and s["excludes_zero"] is False for s in paired.values())
        assert {k: s["baseline"] for k, s in paired.items()} == pytest.approx({k: point[k] for k in paired})


@pytest.mark.slow
def test_minilm_beats_random_tiny_model_on_stsb_dev(tiny_model, shared_data, minilm_dir):
    from sentence_transformers import SentenceTransformer

    with (shared_data / "stsb" / "dev.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    evaluator = STSEvaluator(
        [r["sentence1"] for r in rows], [r["sentence2"] for r in rows], [float(r["score"]) / 5 for r in rows]
    )
    minilm = SentenceTransformer(str(minilm_dir), device="cpu")
    result = paired_bootstrap(evaluator, evaluator.item_scores(tiny_model), evaluator.item_scores(minilm), seed=0)
    spearman = result["spearman"]
    assert 0.85 < spearman["final"] < 0.88
    assert spearman["final_low"] < spearman["final"] < spearman["final_high"]
    assert spearman["final_high"] - spearman["final_low"] < 0.05  # ~1,500 pairs pin Spearman down to a few points
    print({key: round(value, 4) for key, value in spearman.items()})
    assert spearman["excludes_zero"] is True and spearman["delta_low"] > 0.2  # a random BERT still gets ~0.5
