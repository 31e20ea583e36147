"""A similar-document index: documents, their normalised embeddings and, for large corpora, a faiss HNSW graph.

Folder layout (``embedtune index`` writes it, ``search`` and ``serve`` read it):
``index.json`` (model, count, dimensions, kind), ``documents.jsonl`` (id, text, category), ``embeddings.npy``
(float32, unit length, row i = document i) and ``hnsw.faiss`` when the kind is hnsw. Scores are cosines.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedtune.data.documents import field, identifier, read_table, require_column
from embedtune.data.readers import _text, _Where
from embedtune.errors import UserError
from embedtune.rundir import folder_atomic, write_json_atomic

KINDS = ("auto", "exact", "hnsw")
#: ``auto`` builds an HNSW graph from this many documents: below it exact search answers in a few milliseconds
#: (bench/search_scale.py measures both at 100k).
HNSW_FROM = 100_000
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 200, 128
INDEX_FILE, DOCUMENTS_FILE, EMBEDDINGS_FILE, HNSW_FILE = (
    "index.json",
    "documents.jsonl",
    "embeddings.npy",
    "hnsw.faiss",
)


@dataclass
class Documents:
    ids: list[str]
    texts: list[str]
    categories: list[str] | None


def read_documents(
    path: Path, text_column: str = "text", id_column: str | None = None, category_column: str | None = None
) -> Documents:
    """Texts with ids (the id column, else the line number) and categories (the category column). A column named
    by the caller must exist; unnamed, ``id`` and ``category`` are used when the file has them."""
    header, rows = read_table(path)
    text_name = require_column(path, header, "text", (text_column,))
    for role, name in (("id", id_column), ("category", category_column)):
        if name is not None:
            require_column(path, header, role, (name,))
    id_column, category_column = id_column or "id", category_column or "category"
    has_ids, has_categories = id_column in header, category_column in header
    ids, texts, categories, seen = [], [], [], set()
    for line, row in rows:
        where = _Where(path, line, item=False)
        texts.append(_text(text_name, field(path, line, row, text_name), where))
        key = identifier(field(path, line, row, id_column), id_column, where) if has_ids else str(line)
        if key in seen:
            raise where.error(id_column, f"duplicate id '{key}'")
        seen.add(key)
        ids.append(key)
        if has_categories:
            categories.append(identifier(field(path, line, row, category_column), category_column, where))
    return Documents(ids, texts, categories if has_categories else None)


def build_index(documents: Documents, embeddings: np.ndarray, model: str, out: Path, kind: str = "auto") -> dict:
    """Write the index folder (built in ``out.partial``, renamed when complete) and return its ``index.json``."""
    if kind not in KINDS:
        raise UserError(f"--kind {kind}: choose one of {', '.join(KINDS)}")
    if kind == "auto":
        kind = "hnsw" if len(documents.ids) >= HNSW_FROM else "exact"
    embeddings = unit_rows(embeddings)
    meta = {"model": model, "documents": len(documents.ids), "dimensions": int(embeddings.shape[1]), "kind": kind}
    if Path(model).is_absolute():  # a run dir moved with its index inside (or beside) it still finds its model
        meta["model_relative"] = os.path.relpath(model, Path(out).resolve())
    with folder_atomic(out) as partial:
        np.save(partial / EMBEDDINGS_FILE, embeddings)
        with open(partial / DOCUMENTS_FILE, "w", encoding="utf-8") as stream:
            for i, (key, text) in enumerate(zip(documents.ids, documents.texts)):
                record = {"id": key, "text": text}
                if documents.categories is not None:
                    record["category"] = documents.categories[i]
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        if kind == "hnsw":
            _write_hnsw(embeddings, partial / HNSW_FILE)
        write_json_atomic(partial / INDEX_FILE, meta)
    return meta


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _write_hnsw(embeddings: np.ndarray, path: Path) -> None:
    import faiss

    graph = faiss.IndexHNSWFlat(embeddings.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    graph.add(embeddings)
    faiss.write_index(graph, str(path))


@dataclass
class Hit:
    id: str
    score: float
    text: str
    category: str | None

    def as_dict(self) -> dict:
        found = {"id": self.id, "score": round(self.score, 6), "text": self.text}
        return found | ({"category": self.category} if self.category is not None else {})


class Index:
    """A loaded index folder: ``search(query_vectors, k)`` -> a list of hits per query, best first."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        if not (folder / INDEX_FILE).is_file():
            raise UserError(f"{folder}: not an index (no {INDEX_FILE}); build one with embedtune index")
        self.folder = folder
        self.meta = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
        self.embeddings = np.load(folder / EMBEDDINGS_FILE)
        with open(folder / DOCUMENTS_FILE, encoding="utf-8", newline="\n") as lines:  # not splitlines(): U+2028
            self.documents = [json.loads(line) for line in lines if line.strip()]
        self.graph = None
        if self.meta["kind"] == "hnsw":
            import faiss

            self.graph = faiss.read_index(str(folder / HNSW_FILE))
            self.graph.hnsw.efSearch = HNSW_EF_SEARCH

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def model(self) -> str:
        """The model that built the index: found relative to the index folder first, then where it was."""
        relative = self.meta.get("model_relative")
        if relative is not None and (self.folder / relative).exists():
            return str(self.folder / relative)
        return self.meta["model"]

    def check_dimensions(self, dimensions: int) -> None:
        if dimensions != self.embeddings.shape[1]:
            raise UserError(
                f"{self.folder}: the index has {self.embeddings.shape[1]}-dimensional embeddings, the query model "
                f"gives {dimensions}; search with the model that built the index"
            )

    def search(self, queries: np.ndarray, k: int = 5) -> list[list[Hit]]:
        queries = unit_rows(np.atleast_2d(queries))
        self.check_dimensions(queries.shape[1])
        k = min(k, len(self))
        scores, rows = (
            self.graph.search(queries, k) if self.graph is not None else exact_top_k(queries, self.embeddings, k)
        )
        return [
            [self._hit(int(r), float(s)) for r, s in zip(row, score) if r >= 0] for row, score in zip(rows, scores)
        ]

    def _hit(self, row: int, score: float) -> Hit:
        document = self.documents[row]
        return Hit(document["id"], score, document["text"], document.get("category"))


def exact_top_k(
    queries: np.ndarray, embeddings: np.ndarray, k: int, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Inner products against every row, top ``k`` per query (ties: lower row first, whatever ``k``), in chunks of
    queries."""
    all_scores, all_rows = [], []
    for start in range(0, len(queries), chunk):
        scores = queries[start : start + chunk] @ embeddings.T
        if k < scores.shape[1]:  # the k-th best score; argpartition alone would pick any of the rows tied at it
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            kth = np.take_along_axis(scores, part, axis=1).min(axis=1)
        else:
            kth = np.full(len(scores), -np.inf, dtype=scores.dtype)
        rows = np.empty((len(scores), k), dtype=np.int64)
        for i, row_scores in enumerate(scores):
            candidates = np.flatnonzero(row_scores >= kth[i])
            rows[i] = candidates[np.lexsort((candidates, -row_scores[candidates]))[:k]]
        all_rows.append(rows)
        all_scores.append(np.take_along_axis(scores, rows, axis=1))
    return np.concatenate(all_scores), np.concatenate(all_rows)
