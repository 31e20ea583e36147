"""Texts in and embeddings out for the serving commands, and the parity sample of an export."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedtune.data.documents import field, read_table, require_column
from embedtune.data.readers import _text, _Where
from embedtune.errors import UserError

SAMPLE_PAIRS = Path(__file__).resolve().parents[1] / "resources" / "sample"


def read_texts(path: Path, column: str = "text") -> list[str]:
    """One column of a TSV/CSV/JSONL file, every value checked to be a non-empty text."""
    header, rows = read_table(path)
    name = require_column(path, header, "text", (column,))
    return [_text(name, field(path, line, row, name), _Where(path, line, item=False)) for line, row in rows]


def parity_texts(path: Path | None, column: str = "text") -> list[str]:
    """``path``'s texts, or the distinct sentences of the bundled sample pairs (service-desk tickets)."""
    if path is not None:
        return read_texts(path, column)
    texts = []
    for name in ("train.tsv", "eval.tsv"):
        texts += read_texts(SAMPLE_PAIRS / name, "sentence1") + read_texts(SAMPLE_PAIRS / name, "sentence2")
    return list(dict.fromkeys(texts))


def stsb_dev() -> tuple[list[str], list[str], list[float]] | None:
    """STS-B dev (sentence pairs and gold scores) from ../shared/data when it is there, else None."""
    from embedtune.evaluation.retention import shared_file

    path = shared_file("stsb/dev.tsv")
    if path is None:
        return None
    header, rows = read_table(path)
    first = [str(row["sentence1"]) for _, row in rows]
    second = [str(row["sentence2"]) for _, row in rows]
    return first, second, [float(row["score"]) for _, row in rows]


def write_embeddings(out: Path, texts: list[str], vectors: np.ndarray) -> None:
    """``.npy``: the array (row i = text i). ``.parquet``: columns text and embedding (a list of float32)."""
    from embedtune.rundir import write_bytes_atomic

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
        write_bytes_atomic(out, lambda stream: np.save(stream, vectors.astype(np.float32)))
        return
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError("writing .parquet needs pyarrow: pip install pyarrow") from None
    embedding = pa.FixedSizeListArray.from_arrays(pa.array(vectors.astype(np.float32).ravel()), vectors.shape[1])
    table = pa.table({"text": texts, "embedding": embedding})
    write_bytes_atomic(out, lambda stream: pq.write_table(table, stream))
