"""Mine hard negatives for (anchor, positive) pairs, turning them into (anchor, positive, negative) triplets.

For every distinct anchor the candidates (the corpus, by default every positive of the file) are ranked by the
model's cosine with the anchor. Known partners are never candidates: the anchor's own positives, any text paired
with the anchor in either direction (``(b, a)`` makes ``b`` a positive of ``a`` too) and the anchor text itself.
From the rank window ``[range_min, range_max)`` of what is left, a false-negative guard drops every candidate that
scores too close to the positive:

* ``margin`` (absolute): drop if ``score > positive - margin``;
* ``max_score_ratio``: drop if ``score > positive - |positive| * (1 - max_score_ratio)``. For a positive score
  ``>= 0`` this is exactly ``score > positive * max_score_ratio``; for a negative positive score the plain product
  would move the bound *above* the positive (``-0.2 * 0.95 = -0.19``) and let through candidates the model already
  prefers to the positive, so the bound is always ``|positive| * (1 - ratio)`` *below* the positive.

With several positives per anchor the guard uses the lowest of their scores (the hardest positive), as
sentence-transformers does. ``sampling="top"`` keeps the ``num_negatives`` best survivors; ``"random"`` draws them
from all survivors with a generator seeded by ``seed`` (anchors are visited in file order, so a seed fixes the
result). Ranks are counted *before* the guard: ``range_min=3`` always skips the three most similar non-partners.

Why not wrap ``sentence_transformers.util.mine_hard_negatives``: the installed 6.2 does subtract
``|positive| * relative_margin`` (its #3819 fix), so the sign problem alone would not rule it out, but

* its output is regrouped by unique anchor and exploded, dropping the row order, so the file ``lines`` and
  ``phases`` of :class:`PairData` cannot be carried over reliably;
* it only masks the anchor's positives: not the anchor text itself (symmetric or self pairs) nor texts paired with
  the anchor in the other direction, both certain false negatives;
* ``sampling_strategy="random"`` draws from the global ``random`` module (not seedable per call), it prints its
  statistics instead of returning them, shows progress bars, and needs ``encode_query`` / ``encode_document`` /
  ``similarity`` / ``device`` on the model (our fakes and cached encoders only offer ``encode``);
* the data is small (a few thousand texts), so :func:`encode_unique` plus a chunked numpy cosine matrix is a few
  lines, encodes each text once and keeps every semantic explicit and testable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embedtune.data.pairs import PairData
from embedtune.errors import UserError
from embedtune.evaluation.embed import encode_unique

_CHUNK = 1024  # anchors per cosine block: bounds memory to _CHUNK * len(corpus) floats


def mine_hard_negatives_for_pairs(
    model: Any,
    data: PairData,
    num_negatives: int = 1,
    range_min: int = 0,
    range_max: int = 50,
    margin: float | None = 0.05,
    max_score_ratio: float | None = None,
    corpus: list[str] | None = None,
    seed: int = 0,
    batch_size: int = 64,
    sampling: str = "top",
) -> tuple[PairData, dict]:
    """Triplets (one row per pair and mined negative, in file order) and mining statistics.

    Pairs whose anchor got no negative are left out of the triplets and counted in the statistics. ``corpus``
    replaces the default candidate pool (the distinct positives); pass ``corpus + data.texts2`` to add to it.
    """
    _validate(data, num_negatives, range_min, range_max, margin, max_score_ratio, sampling)
    rows = len(data)
    anchors = list(dict.fromkeys(data.texts1))
    candidates = list(dict.fromkeys(data.texts2 if corpus is None else corpus))
    if not candidates:
        raise UserError("hard-negative mining: the corpus of candidate negatives is empty")

    texts = list(dict.fromkeys(anchors + candidates + data.texts2))
    embeddings = np.asarray(encode_unique(model, texts, batch_size=batch_size), dtype=np.float64)
    position = {text: i for i, text in enumerate(texts)}
    anchor_vectors = embeddings[[position[a] for a in anchors]]
    candidate_vectors = embeddings[[position[c] for c in candidates]]
    positive_scores = np.einsum(
        "ij,ij->i", embeddings[[position[a] for a in data.texts1]], embeddings[[position[p] for p in data.texts2]]
    )

    # Guard score per anchor: its hardest (lowest-scoring) positive. Partners: texts paired with it either way.
    anchor_index = {a: i for i, a in enumerate(anchors)}
    guard = np.full(len(anchors), np.inf)
    partners: dict[str, set[str]] = {a: {a} for a in anchors}
    for a, p, score in zip(data.texts1, data.texts2, positive_scores):
        guard[anchor_index[a]] = min(guard[anchor_index[a]], score)
        partners[a].add(p)
        if p in partners:
            partners[p].add(a)
    candidate_index = {c: i for i, c in enumerate(candidates)}

    rng = np.random.default_rng(seed)
    mined: list[list[tuple[str, float]]] = []
    counts = {"considered": 0, "margin": 0, "ratio": 0}
    for start in range(0, len(anchors), _CHUNK):
        block = anchor_vectors[start : start + _CHUNK] @ candidate_vectors.T
        for offset, scores in enumerate(block):
            a = anchors[start + offset]
            excluded = [candidate_index[t] for t in partners[a] if t in candidate_index]
            window = _rank_window(scores, excluded, range_min, range_max)
            keep = _apply_guard(scores[window], guard[start + offset], margin, max_score_ratio, counts)
            survivors = window[keep]
            if sampling == "random" and len(survivors) > num_negatives:
                picked = np.sort(rng.choice(len(survivors), size=num_negatives, replace=False))
                survivors = survivors[picked]
            mined.append([(candidates[j], float(scores[j])) for j in survivors[:num_negatives]])

    out = PairData(source=data.source, texts1=[], texts2=[], negatives=[], phases=[] if data.phases else None)
    negative_scores, differences, lines_without = [], [], []
    for i, (a, p) in enumerate(zip(data.texts1, data.texts2)):
        line = data.lines[i] if data.lines else i + 1
        negatives = mined[anchor_index[a]]
        if not negatives:
            lines_without.append(line)
        for negative, score in negatives:
            out.texts1.append(a)
            out.texts2.append(p)
            out.negatives.append(negative)
            out.lines.append(line)
            if out.phases is not None:
                out.phases.append(data.phases[i])
            negative_scores.append(score)
            differences.append(float(positive_scores[i]) - score)

    found = [len(m) for m in mined]
    stats = {
        "pairs": rows,
        "anchors": len(anchors),
        "corpus_size": len(candidates),
        "triplets": len(out),
        "num_negatives": num_negatives,
        "range_min": range_min,
        "range_max": range_max,
        "margin": margin,
        "max_score_ratio": max_score_ratio,
        "sampling": sampling,
        "seed": seed,
        "positive_score": _summary(positive_scores),
        "negative_score": _summary(negative_scores),
        "difference": _summary(differences),
        "candidates_considered": counts["considered"],
        "dropped_by_margin": counts["margin"],
        "dropped_by_ratio": counts["ratio"],
        "dropped_by_guard": counts["margin"] + counts["ratio"],
        "anchors_without_negatives": sum(1 for n in found if n == 0),
        "anchors_with_fewer_negatives": sum(1 for n in found if 0 < n < num_negatives),
        "pairs_without_negatives": len(lines_without),
        "lines_without_negatives": lines_without[:20],
    }
    return out, stats


def _validate(
    data: PairData,
    num_negatives: int,
    range_min: int,
    range_max: int,
    margin: float | None,
    ratio: float | None,
    sampling: str,
) -> None:
    where = f"{data.source}: hard-negative mining"
    if data.negatives is not None:
        raise UserError(f"{where} needs (anchor, positive) pairs, but the file already has a negative column")
    if data.labels is not None:
        raise UserError(
            f"{where} needs (anchor, positive) pairs, but the file has labels; keep only the positive pairs "
            "and drop the label column"
        )
    if len(data) == 0:
        raise UserError(f"{where}: no pairs")
    if num_negatives < 1:
        raise UserError(f"{where}: num_negatives must be at least 1, got {num_negatives}")
    if range_min < 0 or range_max <= range_min:
        raise UserError(f"{where}: need 0 <= range_min < range_max, got range_min={range_min}, range_max={range_max}")
    if num_negatives > range_max - range_min:
        raise UserError(
            f"{where}: cannot pick {num_negatives} negatives from ranks {range_min}..{range_max - 1}; "
            "raise range_max or lower num_negatives"
        )
    if margin is not None and not (np.isfinite(margin) and margin >= 0):
        raise UserError(f"{where}: margin must be a number >= 0, got {margin}")
    if ratio is not None and not (np.isfinite(ratio) and 0 < ratio <= 1):
        raise UserError(f"{where}: max_score_ratio must be in (0, 1], got {ratio}")
    if sampling not in ("top", "random"):
        raise UserError(f"{where}: sampling must be 'top' or 'random', got {sampling!r}")


def _rank_window(scores: np.ndarray, excluded: list[int], range_min: int, range_max: int) -> np.ndarray:
    """Candidate indices at ranks ``[range_min, range_max)`` after removing ``excluded``; ties break by index."""
    allowed = np.ones(len(scores), dtype=bool)
    allowed[excluded] = False
    indices = np.flatnonzero(allowed)
    if len(indices) > range_max:  # only the top range_max matter: partition first, then sort those
        top = np.argpartition(-scores[indices], range_max - 1)[:range_max]
        indices = indices[top]
    order = np.lexsort((indices, -scores[indices]))
    return indices[order][range_min:range_max]


def _apply_guard(
    scores: np.ndarray, positive: float, margin: float | None, ratio: float | None, counts: dict[str, int]
) -> np.ndarray:
    """Mask of candidates that pass the false-negative guard; counts each drop under the first rule that fires."""
    counts["considered"] += len(scores)
    keep = np.ones(len(scores), dtype=bool)
    if margin is not None:
        drop = scores > positive - margin
        counts["margin"] += int(drop.sum())
        keep &= ~drop
    if ratio is not None:
        drop = keep & (scores > ratio_bound(positive, ratio))
        counts["ratio"] += int(drop.sum())
        keep &= ~drop
    return keep


def ratio_bound(positive: float, ratio: float) -> float:
    """Highest score a negative may have under ``max_score_ratio``: ``positive * ratio`` made sign-safe."""
    return positive - abs(positive) * (1.0 - ratio)


def _summary(values: Any) -> dict[str, float | int | None]:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return {"count": 0, "mean": None, "median": None, "min": None, "max": None}
    return {
        "count": int(values.size),
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def format_mining_stats(stats: dict) -> str:
    """A small table like the one sentence-transformers prints, plus what the guard dropped."""
    lines = [f"{'Metric':<8}{'Positive':>12}{'Negative':>12}{'Difference':>12}"]
    pos, neg, diff = stats["positive_score"], stats["negative_score"], stats["difference"]
    for key in ("count", "mean", "median", "min", "max"):
        cells = []
        for part in (pos, neg, diff):
            value = part[key]
            cells.append("-" if value is None else (f"{value:,}" if key == "count" else f"{value:.4f}"))
        lines.append(f"{key.capitalize():<8}" + "".join(f"{c:>12}" for c in cells))
    considered = max(stats["candidates_considered"], 1)
    for key, name, setting in (
        ("dropped_by_margin", "margin", stats["margin"]),
        ("dropped_by_ratio", "max_score_ratio", stats["max_score_ratio"]),
    ):
        if setting is not None:
            n = stats[key]
            lines.append(f"Skipped {n:,} candidates ({n / considered:.2%}) due to the {name} of {setting}.")
    lines.append(
        f"{stats['triplets']:,} triplets from {stats['pairs']:,} pairs ({stats['anchors']:,} anchors, "
        f"corpus of {stats['corpus_size']:,} texts)."
    )
    if stats["anchors_without_negatives"]:
        lines.append(
            f"{stats['anchors_without_negatives']:,} anchors ({stats['pairs_without_negatives']:,} pairs, e.g. line "
            f"{stats['lines_without_negatives'][0]}) got no negative; they are left out. Raise range_max or "
            "loosen the margin / max_score_ratio to find more."
        )
    if stats["anchors_with_fewer_negatives"]:
        lines.append(f"{stats['anchors_with_fewer_negatives']:,} anchors got fewer than {stats['num_negatives']}.")
    return "\n".join(lines)
