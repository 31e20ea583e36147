"""Retrieval and reranking: rank documents by cosine to each query and score the ranking against known relevant ones.

With binary relevance every metric here is a function of the ranks of the relevant documents alone, so the
evaluator counts, for each relevant document, how many documents score above it. That is exact for MAP (which a
top-k cut cannot be) and needs no full sort of the corpus.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedtune.errors import UserError
from embedtune.evaluation.base import ItemEvaluator
from embedtune.evaluation.embed import check_pairs, encode_unique

if TYPE_CHECKING:
    from embedtune.data.pairs import PairData

logger = logging.getLogger(__name__)

CUTOFF = 10
RECALL_AT = (1, 5, 10)
#: Elements of the (queries, relevant, candidates) comparison tensor built per chunk; bounds memory to ~100 MB.
CHUNK_ELEMENTS = 20_000_000


class RetrievalEvaluator(ItemEvaluator):
    """Per-query ``ndcg@10``, ``mrr@10``, ``map``, ``recall@1/5/10``, averaged over queries; primary ``ndcg@10``.

    Full-corpus retrieval ranks every corpus document for every query. With ``candidates`` (query id -> doc ids)
    each query ranks only its own candidates: reranking, as in answer selection. Relevance is binary. Queries with
    no relevant document (among their candidates) cannot be scored; they are left out, counted in
    ``queries_without_relevant`` and logged. A relevant document ranks after every non-relevant one it ties
    with (pessimistic: a collapsed model scores no better than its ties allow).
    """

    def __init__(
        self,
        queries: Mapping[str, str],
        corpus: Mapping[str, str],
        qrels: Mapping[str, Iterable[str]],
        name: str = "retrieval",
        batch_size: int = 64,
        candidates: Mapping[str, Sequence[str]] | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__()
        source = source or name
        check_ids(queries, corpus, qrels, candidates, source)
        self.name, self.batch_size, self.reranking = name, batch_size, candidates is not None
        doc_ids = documents_to_rank(corpus, candidates)
        self.doc_texts = [corpus[doc] for doc in doc_ids]
        position = {doc: i for i, doc in enumerate(doc_ids)}
        pools = {q: None if candidates is None else list(candidates.get(q, ())) for q in queries}
        relevant = {q: relevant_positions(pools[q], set(qrels.get(q, ())), position) for q in queries}
        self.query_ids = [q for q in queries if relevant[q]]
        self.queries_without_relevant = len(queries) - len(self.query_ids)
        self._report_dropped(len(queries), source)
        self.query_texts = [queries[q] for q in self.query_ids]
        self.relevant = padded([relevant[q] for q in self.query_ids])
        self.candidates = None
        if candidates is not None:
            self.candidates = padded([[position[d] for d in pools[q]] for q in self.query_ids])
        self.greater_is_better = True
        self.primary_metric = f"{name}_ndcg@{CUTOFF}" if name else f"ndcg@{CUTOFF}"

    def _report_dropped(self, total: int, source: str) -> None:
        """Warn about queries that cannot be scored; fail when none is left."""
        if not self.query_ids:
            where = " among its candidates" if self.reranking else ""
            raise UserError(f"{source}: no query has a relevant document{where}; nothing to rank")
        if self.queries_without_relevant:
            logger.warning(
                "%s: %d of %d queries have no relevant document and are left out",
                source,
                self.queries_without_relevant,
                total,
            )

    @classmethod
    def from_grouped_rows(
        cls,
        queries: Sequence[str],
        candidates: Sequence[str],
        labels: Sequence[float],
        name: str = "reranking",
        batch_size: int = 64,
        source: str | None = None,
    ) -> RetrievalEvaluator:
        """Rows of (query, candidate, label): rows sharing a query text are that query's candidates; label > 0 is
        relevant. Each row is its own candidate, so a repeated candidate text counts twice (it is encoded once)."""
        check_pairs(queries, candidates, labels, source or name)
        query_ids: dict[str, str] = {}
        corpus: dict[str, str] = {}
        pools: dict[str, list[str]] = {}
        qrels: dict[str, set[str]] = {}
        for row, (query, candidate, label) in enumerate(zip(queries, candidates, labels)):
            qid, doc = query_ids.setdefault(query, f"q{len(query_ids)}"), f"d{row}"
            corpus[doc] = candidate
            pools.setdefault(qid, []).append(doc)
            if float(label) > 0:
                qrels.setdefault(qid, set()).add(doc)
        by_id = {qid: query for query, qid in query_ids.items()}
        return cls(by_id, corpus, qrels, name=name, batch_size=batch_size, candidates=pools, source=source)

    @classmethod
    def from_pairs(cls, data: PairData, name: str = "reranking", batch_size: int = 64) -> RetrievalEvaluator:
        """Grouped rows loaded by :func:`embedtune.data.documents.load_grouped_rows`."""
        if data.labels is None:
            raise UserError(f"{data.source}: a reranking set needs a relevance label for every row, but it has none")
        return cls.from_grouped_rows(data.texts1, data.texts2, data.labels, name, batch_size, source=data.source)

    @classmethod
    def from_files(
        cls,
        queries_path: str | Path,
        corpus_path: str | Path,
        qrels_path: str | Path,
        name: str = "retrieval",
        batch_size: int = 64,
        delimiter: str | None = None,
    ) -> RetrievalEvaluator:
        from embedtune.data.documents import load_retrieval_files

        files = load_retrieval_files(queries_path, corpus_path, qrels_path, delimiter=delimiter)
        return cls(*files, name=name, batch_size=batch_size, source=str(qrels_path))

    def relevant_ranks(self, model: Any) -> np.ndarray:
        """Sorted 1-based ranks of each query's relevant documents, padded with ``inf`` (shape: queries x max)."""
        embeddings = encode_unique(model, self.query_texts + self.doc_texts, self.batch_size)
        queries, docs = embeddings[: len(self.query_texts)], embeddings[len(self.query_texts) :]
        step = self.chunk_size(docs)
        chunks = []
        for start in range(0, len(queries), step):
            rows = slice(start, start + step)
            chunks.append(ranks_of_relevant(self.scores(queries[rows], docs, rows), self.relevant[rows]))
        return np.concatenate(chunks)

    def chunk_size(self, docs: np.ndarray) -> int:
        """Queries per chunk: each needs a (relevant x width) comparison and, reranking, a (width x dim) gather."""
        if self.candidates is None:
            return max(1, CHUNK_ELEMENTS // (len(docs) * self.relevant.shape[1]))
        return max(1, CHUNK_ELEMENTS // (self.candidates.shape[1] * max(self.relevant.shape[1], docs.shape[1])))

    def scores(self, queries: np.ndarray, docs: np.ndarray, rows: slice) -> np.ndarray:
        """Cosines of a chunk of queries with the whole corpus, or with their candidates (padding: -inf)."""
        if self.candidates is None:
            return queries @ docs.T
        pool = self.candidates[rows]
        scores = np.einsum("qd,qmd->qm", queries, docs[np.maximum(pool, 0)])
        return np.where(pool >= 0, scores, -np.inf)

    def item_scores(self, model: Any) -> dict[str, np.ndarray]:
        return ranking_metrics(self.relevant_ranks(model), (self.relevant >= 0).sum(axis=1))

    def resampled_metrics(self, items: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {key: np.asarray(value, dtype=np.float64).mean(axis=-1) for key, value in items.items()}

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "mode": "reranking" if self.reranking else "full corpus",
            "queries": len(self.query_ids),
            "documents": len(self.doc_texts),
            "queries_without_relevant": self.queries_without_relevant,
        }


def check_ids(
    queries: Mapping[str, str],
    corpus: Mapping[str, str],
    qrels: Mapping[str, Iterable[str]],
    candidates: Mapping[str, Sequence[str]] | None,
    source: str,
) -> None:
    """UserError for ids that point nowhere: they mean the files do not belong together."""
    if not queries or not corpus:
        raise UserError(f"{source}: needs at least one query and one document, got {len(queries)} and {len(corpus)}")
    for links, what in ((qrels, "qrels"), (candidates or {}, "candidates")):
        for query, docs in links.items():
            if query not in queries:
                raise UserError(f"{source}: {what} name query id '{query}', which is not among the queries")
            missing = [doc for doc in docs if doc not in corpus]
            if missing:
                raise UserError(f"{source}: {what} of query '{query}' name doc id '{missing[0]}', not in the corpus")


def documents_to_rank(corpus: Mapping[str, str], candidates: Mapping[str, Sequence[str]] | None) -> list[str]:
    """The whole corpus, or in reranking only documents that are some query's candidate (the rest is never scored)."""
    if candidates is None:
        return list(corpus)
    return list(dict.fromkeys(doc for docs in candidates.values() for doc in docs))


def relevant_positions(pool: list[str] | None, relevant: set[str], position: dict[str, int]) -> list[int]:
    """Column of each relevant document in the query's score row: its corpus index, or its place among candidates."""
    if pool is None:
        return sorted(position[doc] for doc in relevant)
    return [i for i, doc in enumerate(pool) if doc in relevant]


def padded(lists: list[list[int]]) -> np.ndarray:
    """Ragged integer lists as one array, padded with -1."""
    out = np.full((len(lists), max(len(values) for values in lists)), -1, dtype=np.int64)
    for i, values in enumerate(lists):
        out[i, : len(values)] = values
    return out


def ranks_of_relevant(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """Sorted 1-based rank of each relevant column (``relevant``: columns padded with -1; result padded with inf).

    rank = 1 + columns scoring higher + non-relevant columns scoring the same + earlier relevant columns scoring the
    same. Ties count against the model: one that scores every candidate alike must not rank by file order (TrecQA
    lists its relevant answers first, so file order would give MAP 1).
    """
    valid = relevant >= 0
    columns = np.where(valid, relevant, 0)
    is_relevant = np.zeros(scores.shape, dtype=bool)
    queries, slots = np.nonzero(valid)
    is_relevant[queries, relevant[queries, slots]] = True
    target = np.take_along_axis(scores, columns, axis=1)[:, :, None]
    higher = (scores[:, None, :] > target).sum(axis=-1)
    tied = scores[:, None, :] == target
    tied_other = (tied & ~is_relevant[:, None, :]).sum(axis=-1)
    earlier = np.arange(scores.shape[1]) < columns[:, :, None]
    tied_relevant_earlier = (tied & is_relevant[:, None, :] & earlier).sum(axis=-1)
    return np.sort(np.where(valid, higher + tied_other + tied_relevant_earlier + 1, np.inf), axis=1)


def ranking_metrics(ranks: np.ndarray, n_relevant: np.ndarray) -> dict[str, np.ndarray]:
    """Per-query binary-relevance metrics from sorted relevant ranks (padded with inf) and relevant counts.

    NDCG@10 divides DCG (gain 1/log2(rank+1) for each relevant document in the top 10) by the DCG of the ideal
    ranking; MRR@10 is 1/rank of the first relevant document, 0 beyond 10; MAP averages precision at each relevant
    document's rank over all relevant documents; recall@k is the share of relevant documents in the top k.
    """
    ranks, n_relevant = np.asarray(ranks, dtype=np.float64), np.asarray(n_relevant)
    in_cutoff = ranks <= CUTOFF
    dcg = np.where(in_cutoff, 1.0 / np.log2(np.where(in_cutoff, ranks, 1.0) + 1.0), 0.0).sum(axis=1)
    ideal_gains = 1.0 / np.log2(np.arange(1, CUTOFF + 1) + 1.0)
    idcg = np.cumsum(ideal_gains)[np.minimum(n_relevant, CUTOFF) - 1]
    first = ranks[:, 0]
    hits = np.arange(1, ranks.shape[1] + 1)
    metrics = {
        f"ndcg@{CUTOFF}": dcg / idcg,
        f"mrr@{CUTOFF}": np.where(first <= CUTOFF, 1.0 / first, 0.0),
        "map": (hits / ranks).sum(axis=1) / n_relevant,
    }
    for k in RECALL_AT:
        metrics[f"recall@{k}"] = (ranks <= k).sum(axis=1) / n_relevant
    return metrics
