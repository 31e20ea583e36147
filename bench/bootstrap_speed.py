"""How long a paired bootstrap takes, vectorised vs a naive loop of scipy/sklearn calls per resample.

Synthetic data: 5,000 pairs, two "models" (a weaker and a stronger one), 1,000 resamples, for the STS metrics
(Spearman, Pearson) and the pair-classification metrics (ROC-AUC, AP, F1, accuracy, precision, recall). The naive loop
uses the same resample indices, so it also checks that both give the same delta intervals.

    .venv/bin/python bench/bootstrap_speed.py                      # ~1 min on 2 cores, most of it the naive loop
    .venv/bin/python bench/bootstrap_speed.py --naive-resamples 100  # naive time extrapolated from 100 resamples
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from embedtune.evaluation import PairClassificationEvaluator, STSEvaluator
from embedtune.evaluation import metrics as m
from embedtune.evaluation.bootstrap import paired_bootstrap, resample_indices


def sts_case(n: int, rng: np.random.Generator) -> tuple[STSEvaluator, dict, dict]:
    gold = rng.uniform(0, 1, n)
    evaluator = STSEvaluator(["a"] * n, [f"b{i}" for i in range(n)], gold)
    weak = {"cosine": gold + rng.normal(0, 0.5, n), "gold": gold}
    strong = {"cosine": gold + rng.normal(0, 0.3, n), "gold": gold}
    return evaluator, weak, strong


def pair_items(cosines: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Items as PairClassificationEvaluator.item_scores makes them (5-fold out-of-fold predictions)."""
    return {
        "cosine": cosines,
        "label": labels,
        "predicted": m.cv_predictions(cosines, labels, folds=5, seed=0),
        "threshold": np.full(len(cosines), m.best_f1_threshold(cosines, labels)),
    }


def pair_case(n: int, rng: np.random.Generator) -> tuple[PairClassificationEvaluator, dict, dict]:
    labels = rng.uniform(size=n) < 0.4
    evaluator = PairClassificationEvaluator(["a"] * n, [f"b{i}" for i in range(n)], labels)
    weak = pair_items(0.3 * labels + rng.normal(0, 0.3, n), labels)
    strong = pair_items(0.5 * labels + rng.normal(0, 0.3, n), labels)
    return evaluator, weak, strong


def naive_sts(items: dict, rows: np.ndarray) -> dict[str, float]:
    return m.sts_metrics(items["cosine"][rows], items["gold"][rows])


def naive_pairs(items: dict, rows: np.ndarray) -> dict[str, float]:
    labels = items["label"][rows]
    return {
        **m.threshold_free_metrics(items["cosine"][rows], labels),
        **m.prediction_metrics(items["predicted"][rows], labels),
    }


def naive_paired(naive, weak: dict, strong: dict, indices: np.ndarray) -> tuple[float, dict[str, tuple]]:
    """Seconds for the naive loop over ``indices``, and its 95% delta intervals."""
    start = time.perf_counter()
    deltas: dict[str, list[float]] = {}
    for rows in indices:
        base, final = naive(weak, rows), naive(strong, rows)
        for key in base:
            deltas.setdefault(key, []).append(final[key] - base[key])
    seconds = time.perf_counter() - start
    return seconds, {key: tuple(np.nanpercentile(values, [2.5, 97.5])) for key, values in deltas.items()}


def run(name: str, case, naive, n: int, resamples: int, naive_resamples: int) -> None:
    evaluator, weak, strong = case(n, np.random.default_rng(0))
    start = time.perf_counter()
    result = paired_bootstrap(evaluator, weak, strong, n_resamples=resamples, seed=0)
    fast = time.perf_counter() - start
    naive_seconds, intervals = naive_paired(naive, weak, strong, resample_indices(n, naive_resamples, seed=0))
    scaled = naive_seconds * resamples / naive_resamples
    print(f"\n{name}: {n} items, {resamples} resamples, paired (2 models)")
    print(f"  vectorised paired_bootstrap: {fast:8.2f} s")
    label = "naive scipy/sklearn loop:"
    if naive_resamples != resamples:
        label = f"naive loop (x{resamples / naive_resamples:g}):"
    print(f"  {label:28s} {scaled:8.2f} s   speed-up {scaled / fast:6.1f}x")
    for key, summary in result.items():
        low, high = summary["delta_low"], summary["delta_high"]
        line = f"    {key:18s} delta {summary['delta']:+.4f} [{low:+.4f}, {high:+.4f}]"
        if naive_resamples == resamples:
            diff = max(abs(a - b) for a, b in zip(intervals[key], (low, high)))
            line += f"   |vectorised - naive| = {diff:.1e}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--naive-resamples", type=int, default=None, help="time the naive loop on fewer, scale up")
    args = parser.parse_args()
    naive_resamples = args.naive_resamples or args.resamples
    run("STS", sts_case, naive_sts, args.items, args.resamples, naive_resamples)
    run("pair classification", pair_case, naive_pairs, args.items, args.resamples, naive_resamples)


if __name__ == "__main__":
    main()
