"""Percentile bootstrap intervals for :class:`ItemEvaluator` metrics, and paired comparisons of two models.

Why a bootstrap: an eval set is a sample of items, so a metric computed on it is an estimate. Resampling the items
with replacement and recomputing the metric shows how much it would move with a different sample of the same size.

Why paired: to ask "is the tuned model better?", both models are scored on the *same* resamples and the interval is
taken over the per-resample difference. Item difficulty is shared by both models, so it cancels, and the difference
is far more precise than two overlapping marginal intervals suggest.

Design notes:

- Resample ``b`` is drawn from ``np.random.default_rng(seed)`` as ``floor(u * n)`` with ``u = rng.random(n)``. Each
  uniform consumes exactly one 64-bit draw, so the indices depend only on ``seed`` and ``b``: not on the chunk size,
  and the first 100 resamples of a 1,000-resample run are the 100 of a 100-resample run.
- Resamples are evaluated ``chunk_size`` at a time (items are gathered to ``(chunk, n, ...)`` arrays), so memory is
  bounded by one chunk, e.g. 5,000 items x 100 resamples x 8 bytes = 4 MB per item array.
- Point estimates are the evaluator's metrics on the identity resample, the same code as every resample.
- Intervals are percentile intervals. Resamples where a metric is undefined (NaN, e.g. a resample with a single
  class for ROC-AUC) are ignored; ``paired_bootstrap`` reports how many resamples were usable.
- Evaluators with ``bootstrappable = False`` (metrics of a whole embedding set, not a statistic over items) get ``{}``.

Cluster bootstrap (``groups``): when items are not independent (e.g. several pairs built from one source sentence),
pass one group id per item. Each resample then draws as many groups as there are, with replacement, and takes all of
their items. Resample sizes then vary, so :func:`resample_indices` returns a list of 1-D index arrays rather than a
padded matrix (padding would change every metric). The resamples are evaluated in buckets of equal size, so equal
group sizes cost the same as the plain bootstrap and very uneven ones cost one evaluator call per distinct size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from embedtune.evaluation.base import ItemEvaluator

Indices = np.ndarray | list[np.ndarray]


# --- resample indices -------------------------------------------------------------------------------------------


def _uniform_ints(rng: np.random.Generator, size: tuple[int, int], high: int) -> np.ndarray:
    """Integers in ``[0, high)`` as ``floor(u * high)``: one 64-bit draw each, so chunking never shifts the stream."""
    return np.minimum((rng.random(size) * high).astype(np.int64), high - 1)


def _group_members(groups: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Items sorted by group, and each group's start and size in that order."""
    groups = np.asarray(groups)
    if groups.shape != (n_items,):
        raise ValueError(f"groups must give one id per item: shape {groups.shape}, {n_items} items")
    _, codes = np.unique(groups, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes)
    return order, np.cumsum(sizes) - sizes, sizes


def _cluster_rows(draws: np.ndarray, order: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """Per row of drawn group ids, the concatenated item indices of those groups (vectorised per row)."""
    rows = []
    for drawn in draws:
        drawn_sizes = sizes[drawn]
        offsets = np.repeat(starts[drawn] - (np.cumsum(drawn_sizes) - drawn_sizes), drawn_sizes)
        rows.append(order[offsets + np.arange(drawn_sizes.sum())])
    return rows


def _index_chunks(
    n_items: int, n_resamples: int, seed: int, groups: np.ndarray | None, chunk_size: int
) -> Iterator[Indices]:
    """Resample indices ``chunk_size`` resamples at a time; concatenated they are :func:`resample_indices`."""
    if n_items < 1 or n_resamples < 1 or chunk_size < 1:
        raise ValueError(f"need n_items, n_resamples and chunk_size >= 1, got {n_items}, {n_resamples}, {chunk_size}")
    rng = np.random.default_rng(seed)
    clusters = None if groups is None else _group_members(groups, n_items)
    for start in range(0, n_resamples, chunk_size):
        size = min(chunk_size, n_resamples - start)
        if clusters is None:
            yield _uniform_ints(rng, (size, n_items), n_items)
        else:
            yield _cluster_rows(_uniform_ints(rng, (size, len(clusters[1])), len(clusters[1])), *clusters)


def resample_indices(
    n_items: int, n_resamples: int = 1000, seed: int = 0, groups: np.ndarray | None = None
) -> Indices:
    """Bootstrap resamples of ``range(n_items)``: a ``(n_resamples, n_items)`` int array, or with ``groups`` a list
    of ``n_resamples`` 1-D arrays of whole groups (sizes vary; see the module docstring). Deterministic in ``seed``.
    """
    chunks = list(_index_chunks(n_items, n_resamples, seed, groups, chunk_size=100))
    if groups is None:
        return np.concatenate(chunks)
    return [row for chunk in chunks for row in chunk]


# --- evaluating resamples ---------------------------------------------------------------------------------------


def _n_items(items: dict[str, np.ndarray]) -> int:
    """The common length of the item arrays; ValueError if they disagree or there are none."""
    lengths = {len(np.asarray(value)) for value in items.values()}
    if len(lengths) != 1:
        raise ValueError(f"item arrays must all have one entry per item, got lengths {sorted(lengths)}")
    return lengths.pop()


def _take(items: dict[str, np.ndarray], indices: np.ndarray) -> dict[str, np.ndarray]:
    return {key: np.asarray(value)[indices] for key, value in items.items()}


def _chunk_metrics(evaluator: ItemEvaluator, items: dict[str, np.ndarray], chunk: Indices) -> dict[str, np.ndarray]:
    """The evaluator's ``(len(chunk),)`` metrics for one chunk; ragged cluster chunks go in equal-length buckets."""
    if isinstance(chunk, np.ndarray):
        return evaluator.resampled_metrics(_take(items, chunk))
    lengths = np.array([len(row) for row in chunk])
    out: dict[str, np.ndarray] = {}
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        part = evaluator.resampled_metrics(_take(items, np.stack([chunk[r] for r in rows])))
        for key, values in part.items():
            out.setdefault(key, np.full(len(chunk), np.nan))[rows] = values
    return out


def _resampled(
    evaluator: ItemEvaluator,
    item_sets: list[dict[str, np.ndarray]],
    n_resamples: int,
    seed: int,
    groups: np.ndarray | None,
    chunk_size: int,
) -> list[dict[str, np.ndarray]]:
    """``(n_resamples,)`` metrics for each item set, every set evaluated on the same resample indices."""
    parts: list[list[dict[str, np.ndarray]]] = [[] for _ in item_sets]
    for chunk in _index_chunks(_n_items(item_sets[0]), n_resamples, seed, groups, chunk_size):
        for collected, items in zip(parts, item_sets):
            collected.append(_chunk_metrics(evaluator, items, chunk))
    return [{key: np.concatenate([p[key] for p in collected]) for key in collected[0]} for collected in parts]


def _point(evaluator: ItemEvaluator, items: dict[str, np.ndarray]) -> dict[str, float]:
    """Metrics on the identity resample: the same code path as every bootstrap resample."""
    batched = evaluator.resampled_metrics({key: np.asarray(value)[None, ...] for key, value in items.items()})
    return {key: float(value[0]) for key, value in batched.items()}


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval ignoring NaN resamples; ``(nan, nan)`` when every resample is NaN."""
    values = np.asarray(values, dtype=np.float64)
    if not np.any(np.isfinite(values)):
        return float("nan"), float("nan")
    tail = 100 * (1 - confidence) / 2
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")


# --- public API -------------------------------------------------------------------------------------------------


def bootstrap_intervals(
    evaluator: ItemEvaluator,
    items: dict[str, np.ndarray],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    *,
    groups: np.ndarray | None = None,
    chunk_size: int = 100,
) -> dict[str, tuple[float, float]]:
    """``{metric: (low, high)}``: percentile interval of each unprefixed metric over resamples of ``items``."""
    _check_confidence(confidence)
    if not getattr(evaluator, "bootstrappable", False):
        return {}
    (resampled,) = _resampled(evaluator, [items], n_resamples, seed, groups, chunk_size)
    return {key: _interval(values, confidence) for key, values in resampled.items()}


def _comparison(
    baseline: float, final: float, base_values: np.ndarray, final_values: np.ndarray, confidence: float
) -> dict[str, Any]:
    """One metric's paired summary: point estimates, marginal intervals, and the interval of the difference."""
    deltas = final_values - base_values
    delta_low, delta_high = _interval(deltas, confidence)
    baseline_low, baseline_high = _interval(base_values, confidence)
    final_low, final_high = _interval(final_values, confidence)
    return {
        "baseline": baseline,
        "final": final,
        "delta": final - baseline,
        "baseline_low": baseline_low,
        "baseline_high": baseline_high,
        "final_low": final_low,
        "final_high": final_high,
        "delta_low": delta_low,
        "delta_high": delta_high,
        "excludes_zero": bool(delta_low > 0 or delta_high < 0),
        "valid_resamples": int(np.isfinite(deltas).sum()),
    }


def paired_bootstrap(
    evaluator: ItemEvaluator,
    baseline_items: dict[str, np.ndarray],
    final_items: dict[str, np.ndarray],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    *,
    groups: np.ndarray | None = None,
    chunk_size: int = 100,
) -> dict[str, dict[str, Any]]:
    """Compare two models' items on the same resamples: ``{metric: summary}``.

    Each summary has ``baseline``, ``final`` and ``delta`` (final - baseline) point estimates, the marginal
    intervals ``baseline_low/high`` and ``final_low/high``, the paired interval of the difference
    ``delta_low/high``, ``excludes_zero`` (that interval lies strictly above or below 0; False if undefined), and
    ``valid_resamples`` (resamples where the difference was defined). The items must describe the same eval set in
    the same order; ValueError if their item counts differ.
    """
    _check_confidence(confidence)
    if not getattr(evaluator, "bootstrappable", False):
        return {}
    n_base, n_final = _n_items(baseline_items), _n_items(final_items)
    if n_base != n_final:
        raise ValueError(f"paired bootstrap needs the same items for both models: {n_base} vs {n_final} items")
    base_points, final_points = _point(evaluator, baseline_items), _point(evaluator, final_items)
    base_res, final_res = _resampled(evaluator, [baseline_items, final_items], n_resamples, seed, groups, chunk_size)
    return {
        key: _comparison(base_points[key], final_points[key], base_res[key], final_res[key], confidence)
        for key in base_points
    }
