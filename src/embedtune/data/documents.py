"""Read labelled documents (text, category) and retrieval files (queries, corpus, qrels).

These are tables, not pairs, but they fail the same way pair files do: every problem is a one-line
:class:`DataError` naming the file, the line and the column.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

from embedtune.data.pairs import PairData
from embedtune.data.readers import (
    Row,
    _delimited_rows,
    _jsonl_rows,
    _read_text,
    _text,
    _type_name,
    _Where,
    delimiter_of,
    load_pairs,
)
from embedtune.data.spec import DataSpec
from embedtune.errors import DataError

#: Accepted column names, first match wins: embedtune's own names, then BEIR's (``_id``, ``query-id``, ...).
ID_COLUMNS = ("id", "_id")
QUERY_ID_COLUMNS = ("query_id", "query-id", "qid")
DOC_ID_COLUMNS = ("doc_id", "corpus-id", "docid")


class RetrievalFiles(NamedTuple):
    """Queries and corpus as ``id -> text``, qrels as ``query id -> relevant doc ids``."""

    queries: dict[str, str]
    corpus: dict[str, str]
    qrels: dict[str, set[str]]


def load_documents(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "category",
    format: str = "auto",
    delimiter: str | None = None,
) -> tuple[list[str], list[str]]:
    """Texts and their category labels (as strings), in file order; ``delimiter`` as in :class:`DataSpec`."""
    path = Path(path)
    header, rows = read_table(path, format, delimiter)
    text_name = require_column(path, header, "text", (text_column,))
    label_name = require_column(path, header, "label", (label_column,))
    texts, labels = [], []
    for line, row in rows:
        where = _Where(path, line, item=False)
        texts.append(_text(text_name, field(path, line, row, text_name), where))
        labels.append(identifier(field(path, line, row, label_name), label_name, where))
    return texts, labels


def load_grouped_rows(spec: DataSpec) -> PairData:
    """Rows of (query, candidate, relevance label); rows sharing a query text form that query's candidate list."""
    if spec.columns.label is None:
        raise DataError(spec.path, "grouped rows need a relevance column; set columns.label (e.g. label)")
    return load_pairs(spec)


def load_retrieval_files(
    queries_path: str | Path,
    corpus_path: str | Path,
    qrels_path: str | Path,
    format: str = "auto",
    delimiter: str | None = None,
) -> RetrievalFiles:
    """Queries and corpus with id + text columns; qrels with query id, doc id and an optional score (> 0 relevant).

    Column names follow embedtune (``id``, ``text``, ``query_id``, ``doc_id``, ``score``) or BEIR (``_id``,
    ``query-id``, ``corpus-id``); a corpus ``title`` column, when present, is prepended to the text as BEIR does.
    """
    queries = load_texts_by_id(Path(queries_path), format, delimiter)
    corpus = load_texts_by_id(Path(corpus_path), format, delimiter)
    return RetrievalFiles(queries, corpus, load_qrels(Path(qrels_path), queries, corpus, format, delimiter))


def load_texts_by_id(path: Path, format: str = "auto", delimiter: str | None = None) -> dict[str, str]:
    """``id -> text``; a duplicate id is an error because the second text would silently replace the first."""
    header, rows = read_table(path, format, delimiter)
    id_name = require_column(path, header, "id", ID_COLUMNS)
    text_name = require_column(path, header, "text", ("text",))
    title_name = "title" if "title" in header else None
    texts: dict[str, str] = {}
    for line, row in rows:
        where = _Where(path, line, item=False)
        key = identifier(field(path, line, row, id_name), id_name, where)
        if key in texts:
            raise where.error(id_name, f"duplicate id '{key}'")
        title = str(row.get(title_name) or "").strip() if title_name else ""
        text = _text(text_name, field(path, line, row, text_name), where)
        texts[key] = f"{title} {text}" if title else text
    return texts


def load_qrels(
    path: Path, queries: dict[str, str], corpus: dict[str, str], format: str = "auto", delimiter: str | None = None
) -> dict[str, set]:
    """``query id -> relevant doc ids``; rows with score <= 0 are read (and checked) but are not relevant."""
    header, rows = read_table(path, format, delimiter)
    query_name = require_column(path, header, "query id", QUERY_ID_COLUMNS)
    doc_name = require_column(path, header, "doc id", DOC_ID_COLUMNS)
    score_name = "score" if "score" in header else None
    qrels: dict[str, set[str]] = {}
    for line, row in rows:
        where = _Where(path, line, item=False)
        query = identifier(field(path, line, row, query_name), query_name, where)
        doc = identifier(field(path, line, row, doc_name), doc_name, where)
        if query not in queries:
            raise where.error(query_name, f"query id '{query}' is not in the queries file")
        if doc not in corpus:
            raise where.error(doc_name, f"doc id '{doc}' is not in the corpus file")
        if score_name is None or relevance(field(path, line, row, score_name), score_name, where) > 0:
            qrels.setdefault(query, set()).add(doc)
    return qrels


# --- tables -----------------------------------------------------------------------------------------------------


def read_table(path: Path, format: str = "auto", delimiter: str | None = None) -> tuple[list[str], list[Row]]:
    """Column names and rows of a TSV/CSV (csv quoting) or JSONL file; JSONL columns are the first object's keys."""
    try:
        spec = DataSpec(path=path, format=format, delimiter=delimiter)
    except ValueError as error:  # pydantic's: a bad delimiter or format from a command-line option
        problem = error.errors()[0]["msg"] if hasattr(error, "errors") else str(error)
        raise DataError(path, problem.removeprefix("Value error, ")) from None
    text = _read_text(path)  # "file not found" before any advice about the format of a file that is not there
    fmt = spec.resolved_format()
    if fmt == "json":
        raise DataError(path, "a JSON list layout is not supported here; use .tsv, .csv or .jsonl")
    if fmt == "jsonl":
        rows = list(_jsonl_rows(path, text, {}))
    else:
        rows = list(_delimited_rows(path, text, delimiter_of(fmt, spec.delimiter), {}, "csv"))
    if not rows:
        raise DataError(path, "no rows")
    return list(rows[0][1]), rows


def require_column(path: Path, header: list[str], role: str, names: tuple[str, ...]) -> str:
    """The first of ``names`` in the header; otherwise a DataError on line 1 listing what the header has."""
    for name in names:
        if name in header:
            return name
    available = ", ".join(repr(h) for h in header)
    choices = " or ".join(repr(n) for n in names)
    raise DataError(path, f"missing {role} column ({choices}); the header has: {available}", line=1, field=names[0])


def field(path: Path, line: int, row: dict[str, object], name: str) -> object:
    """A row's value; JSONL objects may each lack a key even when the first one had it."""
    if name not in row:
        raise DataError(path, f"missing key; the object has: {', '.join(repr(k) for k in row)}", line=line, field=name)
    return row[name]


def identifier(value: object, name: str, where: _Where) -> str:
    """Ids and category labels compare as strings, so a JSON 7 and a TSV "7" are the same id."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise where.error(name, f"expected a string or number, got {_type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):  # JSON's NaN / Infinity: not a label anyone meant
        raise where.error(name, f"expected a string or a finite number, got {value}")
    text = str(value).strip()
    if not text:
        raise where.error(name, "empty value")
    return text


def relevance(value: object, name: str, where: _Where) -> float:
    """A qrels score as a number; anything else is an error rather than silently 'not relevant'."""
    try:
        return float(str(value).strip())
    except ValueError:
        raise where.error(name, f"score {value!r} is not a number") from None
