"""kNN classification: do a document's nearest neighbours share its category? What a ticket router built on the
embeddings would get right, with no classifier trained on top."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from embedtune.errors import UserError
from embedtune.evaluation.base import ItemEvaluator
from embedtune.evaluation.embed import encode_unique

logger = logging.getLogger(__name__)

#: Rows of the query-by-index similarity matrix computed at once.
QUERY_CHUNK = 1024


class KNNEvaluator(ItemEvaluator):
    """Majority vote of the ``k`` most cosine-similar index documents; ``accuracy`` and ``macro_f1`` over queries.

    Vote ties go to the class with the larger summed similarity, then to the class first in sorted label order.
    Items are ``predicted`` and ``true`` class ids (positions in :attr:`classes`, the sorted labels). Macro F1
    averages over classes that occur among the true or predicted labels, as scikit-learn does. Primary ``accuracy``.
    """

    def __init__(
        self,
        index_texts: Sequence[str],
        index_labels: Sequence[str],
        query_texts: Sequence[str],
        query_labels: Sequence[str],
        name: str = "knn",
        k: int = 5,
        batch_size: int = 64,
        source: str | None = None,
    ) -> None:
        super().__init__()
        source = source or name
        check_documents(index_texts, index_labels, "index", source)
        check_documents(query_texts, query_labels, "query", source)
        if not 1 <= k <= len(index_texts):
            raise UserError(f"{source}: k must be between 1 and the {len(index_texts)} index documents, got {k}")
        self.classes = sorted({str(label) for label in [*index_labels, *query_labels]})
        class_id = {label: i for i, label in enumerate(self.classes)}
        self.index_texts, self.query_texts = list(index_texts), list(query_texts)
        self.index_labels = np.array([class_id[str(label)] for label in index_labels], dtype=np.int64)
        self.query_labels = np.array([class_id[str(label)] for label in query_labels], dtype=np.int64)
        self.name, self.k, self.batch_size = name, k, batch_size
        shared = len(set(self.query_texts) & set(self.index_texts))
        if shared:
            logger.warning("%s: %d query texts are also in the index; they will find themselves", source, shared)
        self.greater_is_better = True
        self.primary_metric = f"{name}_accuracy" if name else "accuracy"

    @classmethod
    def from_documents(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        name: str = "knn",
        index_fraction: float = 0.8,
        seed: int = 0,
        **kwargs: Any,
    ) -> KNNEvaluator:
        """Split labelled documents: ``index_fraction`` of them (stratified by label when every label has two
        documents) form the index, the rest are queries."""
        source = kwargs.get("source") or name
        check_documents(texts, labels, "labelled", source)
        index, queries = split_documents(labels, index_fraction, seed, source)
        texts, labels = list(texts), list(labels)
        return cls(
            [texts[i] for i in index],
            [labels[i] for i in index],
            [texts[i] for i in queries],
            [labels[i] for i in queries],
            name,
            **kwargs,
        )

    def predict(self, model: Any) -> np.ndarray:
        """Predicted class id of every query document."""
        embeddings = encode_unique(model, self.index_texts + self.query_texts, self.batch_size)
        index, queries = embeddings[: len(self.index_texts)], embeddings[len(self.index_texts) :]
        chunks = [
            knn_vote(queries[start : start + QUERY_CHUNK] @ index.T, self.index_labels, self.k, len(self.classes))
            for start in range(0, len(queries), QUERY_CHUNK)
        ]
        return np.concatenate(chunks)

    def item_scores(self, model: Any) -> dict[str, np.ndarray]:
        return {"predicted": self.predict(model), "true": self.query_labels.copy()}

    def resampled_metrics(self, items: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        predicted, true = np.asarray(items["predicted"], dtype=np.int64), np.asarray(items["true"], dtype=np.int64)
        return {
            "accuracy": (predicted == true).mean(axis=-1),
            "macro_f1": macro_f1(predicted, true, len(self.classes)),
        }

    def get_config_dict(self) -> dict[str, Any]:
        return {"k": self.k, "index": len(self.index_texts), "queries": len(self.query_texts), "classes": self.classes}


def check_documents(texts: Sequence[str], labels: Sequence[str], role: str, source: str) -> None:
    if len(texts) != len(labels):
        raise UserError(f"{source}: {len(texts)} {role} texts but {len(labels)} labels")
    if not texts:
        raise UserError(f"{source}: no {role} documents")


def split_documents(labels: Sequence[str], index_fraction: float, seed: int, source: str) -> tuple[list, list]:
    """Row indices of index and query documents; stratified when possible so rare categories get queries too."""
    from sklearn.model_selection import train_test_split

    n = len(labels)
    n_queries = n - round(n * index_fraction) if 0 < index_fraction < 1 else 0
    if not 1 <= n_queries < n:
        raise UserError(f"{source}: index_fraction {index_fraction} of {n} documents leaves no queries or no index")
    names, counts = np.unique([str(label) for label in labels], return_counts=True)
    stratified = counts.min() >= 2 and len(names) <= min(n_queries, n - n_queries)
    index, queries = train_test_split(
        np.arange(n), test_size=n_queries, random_state=seed, stratify=[str(x) for x in labels] if stratified else None
    )
    return index.tolist(), queries.tolist()


def knn_vote(similarities: np.ndarray, index_labels: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    """Class id per row: most votes among the ``k`` nearest columns, then larger summed similarity, then lowest id."""
    rows = similarities.shape[0]
    nearest = np.argpartition(-similarities, k - 1, axis=1)[:, :k]
    flat = (np.arange(rows)[:, None] * n_classes + index_labels[nearest]).ravel()
    size = rows * n_classes
    votes = np.bincount(flat, minlength=size).reshape(rows, n_classes)
    summed = np.bincount(flat, weights=np.take_along_axis(similarities, nearest, axis=1).ravel(), minlength=size)
    leaders = votes == votes.max(axis=1, keepdims=True)
    return np.argmax(np.where(leaders, summed.reshape(rows, n_classes), -np.inf), axis=1)


def macro_f1(predicted: np.ndarray, true: np.ndarray, n_classes: int) -> np.ndarray:
    """Macro F1 per row of ``(B, n)`` class ids: per-class counts for all rows from three ``bincount`` calls."""
    predicted, true = np.atleast_2d(predicted), np.atleast_2d(true)
    rows = predicted.shape[0]
    offset = np.arange(rows)[:, None] * n_classes
    size = rows * n_classes

    def count(ids: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        flat = (offset + ids).ravel()
        weights = None if where is None else where.ravel().astype(np.float64)
        return np.bincount(flat, weights=weights, minlength=size).reshape(rows, n_classes)

    true_pos = count(true, predicted == true)
    support = count(predicted) + count(true)  # 2TP + FP + FN
    present = support > 0
    f1 = np.divide(2 * true_pos, support, out=np.zeros((rows, n_classes)), where=present)
    return f1.sum(axis=1) / present.sum(axis=1)
