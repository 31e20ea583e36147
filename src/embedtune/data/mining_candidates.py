"""The candidate pairs of each (band, category) that mining samples from, found one of two ways.

- :func:`all_pairs` (a split of at most ``exact_max_documents``): every pair is scored, in dense cosine blocks of
  bounded size; a band's candidates are all its pairs, and ``available`` counts them exactly. Quadratic time.
- :func:`sampled_pairs` (larger splits): for each category and label, ``draws_per_pair * count`` random pairs are
  scored (all pairs when there are fewer). A band that these random pairs fill (at least as many hits as the pool
  keeps) samples from them alone: a uniform sample of the band, as with all pairs. A band they leave short (high-cosine
  bands: hard positives, hard negatives) adds every in-band pair on the documents' nearest-neighbour lists
  (:mod:`embedtune.data.mining_neighbours`); when those lists hold all of the band's pairs, its candidates are the same
  set as :func:`all_pairs` finds. ``available`` is then an estimate: the random hit rate times the pairs of that kind,
  or, for a band that took neighbour lists, the candidates found (a lower bound); the cosine range per label is that
  of the pairs scored. Linear in the pairs requested, plus the neighbour search (about linear in the documents).
  Callers that need a uniform sample of all pairs (the balanced eval pairs) pass ``neighbours=0``: no lists.

Positives are ``(i, j)`` with ``i < j`` in the same category; negatives ``(i, j)`` with ``i`` in the pool's
category and ``j`` in another, so a cross-category pair is a candidate of both its categories, as in the dense blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from embedtune.data.mining_neighbours import neighbour_edges, pair_cosines

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

#: Cells of a dense cosine block computed at once (x 8 bytes): bounds memory whatever the number of documents.
BLOCK_CELLS = 4_000_000

Band = tuple[float, float]
Key = tuple[str, str]  # (phase, "positive" | "negative")
Slot = tuple[Key, str]  # (band key, category)
Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]  # (i, j, cosine)


class Reservoir:
    """A uniform random sample (without replacement) of at most ``size`` candidates, in random order.

    Every candidate gets a uniform random key and the ``size`` smallest keys are kept, so memory stays bounded
    however many pairs fall in a band; ``seen`` counts all candidates offered.
    """

    def __init__(self, size: int) -> None:
        self.size, self.seen = size, 0
        self.keys = np.empty(0)
        self.i, self.j, self.cos = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)

    def add(self, keys: np.ndarray, i: np.ndarray, j: np.ndarray, cos: np.ndarray) -> None:
        self.seen += len(keys)
        self.keys = np.concatenate([self.keys, keys])
        self.i, self.j, self.cos = (
            np.concatenate([self.i, i]),
            np.concatenate([self.j, j]),
            np.concatenate([self.cos, cos]),
        )
        if len(self.keys) > 2 * self.size:
            self._trim()

    def _trim(self) -> None:
        if len(self.keys) > self.size:
            keep = np.argpartition(self.keys, self.size - 1)[: self.size]
            self.keys, self.i, self.j, self.cos = self.keys[keep], self.i[keep], self.j[keep], self.cos[keep]

    def ordered(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._trim()
        order = np.argsort(self.keys, kind="stable")
        return self.i[order], self.j[order], self.cos[order]


@dataclass
class Candidates:
    """Each slot's sample of candidates, how many pairs its band holds, the cosine range of the pairs scored per
    label (for error messages), and how they were found (the split summary's ``candidates``)."""

    pools: dict[Slot, Reservoir]
    available: dict[Slot, int]
    extremes: dict[str, list[float]]
    info: dict = field(default_factory=dict)


def _no_extremes() -> dict[str, list[float]]:
    return {name: [np.inf, -np.inf] for name in ("positive", "negative")}


def _widen(extremes: dict[str, list[float]], name: str, cos: np.ndarray) -> None:
    if len(cos):
        extremes[name][0] = min(extremes[name][0], float(cos.min()))
        extremes[name][1] = max(extremes[name][1], float(cos.max()))


def band_contains(band: Band, cosine: float | np.ndarray) -> bool | np.ndarray:
    """``low <= cosine < high``; a band ending at 1.0 is closed so identical documents can be mined."""
    low, high = band
    cosine = np.asarray(cosine)
    inside = (cosine >= low) & ((cosine < high) | (high >= 1.0))
    return inside if inside.ndim else bool(inside)


# --- every pair -------------------------------------------------------------------------------------------------


def all_pairs(
    x: csr_matrix, y: np.ndarray, categories: list[str], bands: dict[Key, Band], spare: int, rng: np.random.Generator
) -> Candidates:
    """Score every pair, a dense block of rows at a time, and offer each in-band pair to its slot's reservoir."""
    pools = {(key, c): Reservoir(spare) for key in bands for c in categories}
    extremes = _no_extremes()
    for c in categories:
        members = np.flatnonzero(y == c)
        others = np.flatnonzero(y != c)
        for name, columns in (("positive", members), ("negative", others)):
            if len(members) == 0 or len(columns) == 0:
                continue
            step = max(1, BLOCK_CELLS // len(columns))
            right = x[columns].T.tocsc()
            for start in range(0, len(members), step):
                rows = members[start : start + step]
                block = (x[rows] @ right).toarray()
                valid = np.ones_like(block, dtype=bool)
                if name == "positive":  # each unordered pair once, never a document with itself
                    valid = np.arange(len(members))[None, :] > np.arange(start, start + len(rows))[:, None]
                _widen(extremes, name, block[valid])
                for key, band in bands.items():
                    if key[1] != name:
                        continue
                    a, b = np.nonzero(valid & band_contains(band, block))
                    pools[key, c].add(rng.random(len(a)), rows[a], columns[b], block[a, b])
    available = {slot: pool.seen for slot, pool in pools.items()}
    return Candidates(pools, available, extremes, {"method": "all pairs", "available": "exact"})


# --- random pairs and neighbour lists ---------------------------------------------------------------------------


@dataclass
class _Draw:
    """The random pairs scored for one category and label: how many, out of how many such pairs there are."""

    scored: int
    total: int

    @property
    def complete(self) -> bool:
        return self.scored == self.total


def sampled_pairs(
    x: csr_matrix,
    y: np.ndarray,
    categories: list[str],
    bands: dict[Key, Band],
    spare: int,
    rng: np.random.Generator,
    draws: int,
    neighbours: int,
    seed: int,
) -> Candidates:
    """Random pairs for every slot; neighbour-list pairs added to the slots the random pairs leave short (none when
    ``neighbours`` is 0)."""
    extremes = _no_extremes()
    found, drawn = _random_hits(x, y, categories, bands, draws, rng, extremes)
    hits = {slot: len(pairs[0]) for slot, pairs in found.items()}
    short = [slot for slot, count in hits.items() if count < spare and not drawn[slot[1], slot[0][1]].complete]
    short = short if neighbours else []
    info: dict = {
        "method": "random pairs and nearest neighbours" if neighbours else "random pairs",
        "available": "exact" if all(d.complete for d in drawn.values()) else "estimated",
        "random_pairs": sum(d.scored for d in drawn.values()),
        "neighbour_pairs": 0,  # distinct pairs on the neighbour lists, all scored
        "neighbour_bands": sorted({f"{key[0]} {key[1]}" for key, _ in short}),
    }
    if short:
        info |= _add_listed(x, y, categories, bands, found, short, neighbours, seed, extremes)
    pools = {slot: Reservoir(spare) for slot in found}
    for slot, (i, j, cos) in found.items():  # dict order: bands, then categories, as all_pairs offers them
        pools[slot].add(rng.random(len(i)), i, j, cos)
    available = {
        slot: _available(len(found[slot][0]), hits[slot], drawn[slot[1], slot[0][1]], slot in short) for slot in found
    }
    return Candidates(pools, available, extremes, info)


def _add_listed(
    x: csr_matrix,
    y: np.ndarray,
    categories: list[str],
    bands: dict[Key, Band],
    found: dict[Slot, Pairs],
    short: list[Slot],
    neighbours: int,
    seed: int,
    extremes: dict[str, list[float]],
) -> dict:
    """Add to each short slot the in-band pairs of the neighbour lists: same-category lists for the categories with
    a short positive slot, other-category lists for those with a short negative one. Returns the index's summary."""
    codes = np.searchsorted(categories, y)
    lists: dict[str, set[int]] = {"same": set(), "other": set()}
    for (_, name), c in short:
        lists["same" if name == "positive" else "other"].add(categories.index(c))
    floor = min(bands[key][0] for key, _ in short)
    i, j, cos, info = neighbour_edges(x, codes, lists, neighbours, seed, floor)
    by_slot = _edge_slots(i, j, cos, codes, categories, extremes)
    for slot in short:
        key, c = slot
        ei, ej, ecos = by_slot[c, key[1]]
        inside = band_contains(bands[key], ecos)
        found[slot] = _union(found[slot], (ei[inside], ej[inside], ecos[inside]), x.shape[0])
    return info


def _random_hits(
    x: csr_matrix,
    y: np.ndarray,
    categories: list[str],
    bands: dict[Key, Band],
    draws: int,
    rng: np.random.Generator,
    extremes: dict[str, list[float]],
) -> tuple[dict[Slot, Pairs], dict[tuple[str, str], _Draw]]:
    """Score ``draws`` random pairs per category and label; each slot gets the ones inside its band."""
    scored: dict[tuple[str, str], Pairs] = {}
    drawn: dict[tuple[str, str], _Draw] = {}
    for c in categories:
        members, others = np.flatnonzero(y == c), np.flatnonzero(y != c)
        for name in ("positive", "negative"):
            i, j, total = _draw(members, others, name == "positive", draws, rng)
            cos = pair_cosines(x, i, j)
            _widen(extremes, name, cos)
            scored[c, name], drawn[c, name] = (i, j, cos), _Draw(len(i), total)
    found = {}
    for key, band in bands.items():
        for c in categories:
            i, j, cos = scored[c, key[1]]
            inside = band_contains(band, cos)
            found[key, c] = (i[inside], j[inside], cos[inside])
    return found, drawn


def _draw(
    members: np.ndarray, others: np.ndarray, positive: bool, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int]:
    """Distinct random pairs (up to ``draws``; all of them when there are no more) and how many such pairs exist."""
    m = len(members)
    if positive:
        total = m * (m - 1) // 2
        if total <= draws:
            a, b = np.triu_indices(m, 1)
            return members[a], members[b], total
        index = rng.choice(m * (m - 1), draws, replace=False)  # ordered pairs of two distinct members
        a, b = index // (m - 1), index % (m - 1)
        b = b + (b >= a)
        keys = np.unique(np.minimum(a, b) * m + np.maximum(a, b))  # (a, b) and (b, a) are one pair
        return members[keys // m], members[keys % m], total
    total = m * len(others)
    index = np.arange(total) if total <= draws else rng.choice(total, draws, replace=False)
    return members[index // len(others)], others[index % len(others)], total


def _edge_slots(
    i: np.ndarray,
    j: np.ndarray,
    cos: np.ndarray,
    codes: np.ndarray,
    categories: list[str],
    extremes: dict[str, list[float]],
) -> dict[tuple[str, str], Pairs]:
    """Neighbour pairs by (category, label): a same-category pair once, a cross-category pair once for each of its
    two categories, oriented so that its first document is of that category."""
    same = codes[i] == codes[j]
    _widen(extremes, "positive", cos[same])
    _widen(extremes, "negative", cos[~same])
    oriented = {
        "positive": (i[same], j[same], cos[same]),
        "negative": (
            np.concatenate([i[~same], j[~same]]),
            np.concatenate([j[~same], i[~same]]),
            np.concatenate([cos[~same], cos[~same]]),
        ),
    }
    out = {}
    for name, (a, b, c_) in oriented.items():
        order = np.argsort(codes[a], kind="stable")
        a, b, c_ = a[order], b[order], c_[order]
        bounds = np.searchsorted(codes[a], np.arange(len(categories) + 1))
        for code, category in enumerate(categories):
            rows = slice(bounds[code], bounds[code + 1])
            out[category, name] = (a[rows], b[rows], c_[rows])
    return out


def _union(first: Pairs, second: Pairs, n: int) -> Pairs:
    """The pairs of both, each once (a neighbour pair may also have been drawn at random)."""
    i, j, cos = (np.concatenate([p, q]) for p, q in zip(first, second))
    _, keep = np.unique(i * n + j, return_index=True)
    return i[keep], j[keep], cos[keep]


def _available(candidates: int, hits: int, drawn: _Draw, listed: bool) -> int:
    """Exact when every pair was scored; the candidates found (a lower bound) when neighbour lists were added, since
    the few random hits of such a band make a poor estimate; otherwise the random hit rate times all pairs."""
    if drawn.complete or listed:
        return candidates
    return round(hits / max(drawn.scored, 1) * drawn.total)
