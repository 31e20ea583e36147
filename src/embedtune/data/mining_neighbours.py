"""Each document's nearest neighbours under TF-IDF cosine, without scoring all pairs: the high-cosine candidates of
mining above :attr:`~embedtune.data.mining.MiningConfig.exact_max_documents`.

Two lists per document, each of ``k``: its nearest documents of the same category (hard positives) and of the other
categories (hard negatives). One list over all documents would not do: in a large corpus a document's nearest ``k``
are mostly of its own category, far above the hard-negative band, and its cross-category neighbours never show.

The TF-IDF rows are reduced by a truncated SVD (fitted on a seeded sample of rows) and unit-normalised, then held in
a faiss inverted-file index (IVF): cells of about ``CELL_SIZE`` documents around k-means centroids. A query scans its
``PROBES`` nearest cells, skipping the documents a category filter excludes, so a search costs about the same at any
corpus size: linear time in all, apart from the cells. Choosing among ``n / CELL_SIZE`` centroids per query, and
their k-means on ``TRAIN_PER_CELL`` points per cell, are quadratic with small constants: at 240,000 documents about
6e10 and 1.4e11 multiply-adds, against 5e11 for scanning the cells. Below ``CELL_SIZE * PROBES`` documents every cell
is scanned, so the lists are exact in the reduced space. Memory is linear in ``n``: the vectors and the index's copy
(``8 n d`` bytes) and the listed pairs (up to ``16 n k`` bytes), never an ``n x n`` block.

The reduced space only *proposes* pairs: every pair is scored again with the exact TF-IDF cosine, so a band holds
only pairs whose exact cosine lies in it. What the reduction and the probing cost is recall: a pair that ranks below
``k`` in the reduced space for both of its documents is not proposed. On the IT tickets (3,044 documents), top-100
lists (one per document, any category) in 256 dimensions held 99% of the cross-category pairs with cosine in
[0.30, 0.50) and 89% of the same-category pairs >= 0.35 (128 dimensions: 94% and 88%; exact top-100 lists: 90% of
the latter, the rest being pairs of documents that each have over 100 closer neighbours). A vocabulary no larger than
the dimensions is used as it is: the cosines are then exact.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from embedtune.errors import UserError

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

logger = logging.getLogger(__name__)

#: Dimensions of the reduced vectors the index holds (see the module docstring for the recall they give).
DIMENSIONS = 256
#: Rows the SVD is fitted on (a seeded sample), so its cost does not grow with the corpus; projecting is linear.
SVD_SAMPLE = 20_000
#: Documents per IVF cell, and cells scanned per query: 8,192 documents scanned, whatever the corpus size. On 40,000
#: synthetic documents (bench/mine_scale.py) this found 95% of the reduced-space top-100 of each document and 75% of
#: its cross-category top-100 (cells of 1,000 and 8 probes, the same scan: 94% and 66%).
CELL_SIZE, PROBES = 256, 32
#: Training points per cell for the k-means of the cells: enough for stable cells, and a bounded cost.
TRAIN_PER_CELL = 64
#: Documents searched at once: bounds the search results held to ``QUERY_CHUNK * (k + 1)``.
QUERY_CHUNK = 10_000


def neighbour_edges(
    x: csr_matrix, codes: np.ndarray, lists: dict[str, set[int]], k: int, seed: int, floor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Each unordered pair ``(lo, hi)``, ``lo < hi``, on a neighbour list, once, with its exact TF-IDF cosine.

    ``codes`` gives each document's category number; ``lists["same"]`` and ``lists["other"]`` name the categories
    whose documents get a same-category and an other-category list. Only pairs with cosine >= ``floor`` are returned
    (the others fill no band asked for). Pairs are deduplicated before they are scored: scoring is the costly part."""
    n = x.shape[0]
    order = np.argsort(codes, kind="stable")  # the index holds documents by category: a category is an id range
    bounds = np.searchsorted(codes[order], np.arange(codes.max() + 2))
    vectors, dimensions = reduced_vectors(x[order], seed)
    index = _ivf(vectors, seed)
    found = []
    for kind, categories in lists.items():
        for code in sorted(categories):
            for a, b in _listed_pairs(index, vectors, bounds[code], bounds[code + 1], kind, k):
                a, b = order[a], order[b]
                found.append(np.minimum(a, b) * n + np.maximum(a, b))
    keys = np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)
    lo, hi = keys // n, keys % n
    cos = pair_cosines(x, lo, hi)
    kept = cos >= floor
    logger.info("mining: %d of %d neighbour pairs have cosine >= %.2f (%d documents)", kept.sum(), len(keys), floor, n)
    info = {"neighbours": k, "dimensions": dimensions, "cells": index.nlist, "neighbour_pairs": len(keys)}
    return lo[kept], hi[kept], cos[kept], info


def _listed_pairs(index, vectors: np.ndarray, start: int, stop: int, kind: str, k: int):
    """For the documents at positions ``start:stop`` (one category), their ``k`` nearest of that category
    (``kind="same"``) or of the others, as ``(2, m)`` position pairs, a chunk of documents at a time."""
    import faiss

    inside = faiss.IDSelectorRange(int(start), int(stop))
    selector = inside if kind == "same" else faiss.IDSelectorNot(inside)
    params = faiss.SearchParametersIVF(sel=selector, nprobe=PROBES)
    wanted = k + 1 if kind == "same" else k  # +1: a document finds itself among its own category
    for first in range(start, stop, QUERY_CHUNK):
        last = min(first + QUERY_CHUNK, stop)
        _, ids = index.search(vectors[first:last], wanted, params=params)
        i = np.repeat(np.arange(first, last), wanted)
        j = ids.ravel().astype(np.int64)
        valid = (j >= 0) & (j != i)
        yield np.stack([i[valid], j[valid]])


def reduced_vectors(x: csr_matrix, seed: int) -> tuple[np.ndarray, int | str]:
    """Unit-length float32 rows whose dot products approximate the TF-IDF cosines, and their dimensions (``"exact"``
    when the dot products are the cosines)."""
    if x.shape[1] <= DIMENSIONS:
        vectors = x.toarray().astype(np.float32)  # the TF-IDF rows themselves, already unit length (or zero)
        return vectors, "exact"
    from sklearn.decomposition import TruncatedSVD

    rng = np.random.default_rng(seed)
    sample = x[np.sort(rng.choice(x.shape[0], min(SVD_SAMPLE, x.shape[0]), replace=False))]
    dimensions = min(DIMENSIONS, sample.shape[0] - 1, x.shape[1] - 1)
    svd = TruncatedSVD(n_components=dimensions, random_state=seed).fit(sample)
    step = 50_000  # transform a chunk at a time: the float64 result of all rows at once would double the memory
    vectors = np.concatenate([svd.transform(x[s : s + step]).astype(np.float32) for s in range(0, x.shape[0], step)])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors /= np.where(norms > 0, norms, 1.0)
    return vectors, dimensions


def pair_cosines(x: csr_matrix, i: np.ndarray, j: np.ndarray, chunk: int = 500_000) -> np.ndarray:
    """The TF-IDF cosine of each pair ``(i[p], j[p])`` (rows are unit length), a chunk of rows at a time."""
    out = np.empty(len(i))
    for start in range(0, len(i), chunk):
        rows = slice(start, start + chunk)
        out[rows] = np.asarray(x[i[rows]].multiply(x[j[rows]]).sum(axis=1)).ravel()
    return out


def _ivf(vectors: np.ndarray, seed: int):
    """An IVF index over ``vectors`` (inner product), its cells from a seeded k-means. The k-means runs on one thread:
    its sums are then in one order, so the cells, and the pairs mined, are the same for a seed on any thread count.
    Searching is parallel and exact per query."""
    faiss = _faiss()
    cells = max(1, len(vectors) // CELL_SIZE)
    index = faiss.IndexIVFFlat(
        faiss.IndexFlatIP(vectors.shape[1]), vectors.shape[1], cells, faiss.METRIC_INNER_PRODUCT
    )
    index.cp.seed, index.cp.max_points_per_centroid = seed, TRAIN_PER_CELL
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        index.train(vectors)
    finally:
        faiss.omp_set_num_threads(threads)
    index.add(vectors)
    return index


def _faiss():
    try:
        import faiss
    except ImportError:
        raise UserError(
            "mining: more documents than exact_max_documents need the neighbour index of faiss-cpu, which is not "
            "installed: pip install faiss-cpu (or raise exact_max_documents to score every pair, quadratic time)"
        ) from None
    return faiss
