"""Split a data file's rows in two (train / dev), stratified by a column, for a sweep that must choose on rows it
neither trains on nor reports: dev comes out of the training file and the file's own held-out split stays the test.

sklearn's ``train_test_split`` does the splitting; this adds reading any embedtune format and writing both halves in
the input's own format, atomically.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

from embedtune.data.documents import read_table, require_column
from embedtune.data.readers import delimiter_of
from embedtune.data.spec import DataSpec
from embedtune.errors import DataError
from embedtune.rundir import write_text_atomic


def split_rows(
    path: Path, out_dir: Path, fraction: float, stratify: str | None, seed: int, delimiter: str | None = None
) -> dict[str, Path]:
    """Write ``train.<ext>`` and ``dev.<ext>`` (``fraction`` of the rows) to ``out_dir``; returns them by role."""
    from sklearn.model_selection import train_test_split

    header, rows = read_table(path, delimiter=delimiter)
    column = require_column(path, header, "stratify", (stratify,)) if stratify is not None else None
    records = [row for _, row in rows]
    # Copies of one row go to the same side: a dev row that is also a train row is not held out.
    groups: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        groups.setdefault(json.dumps(record, sort_keys=True), []).append(index)
    members = list(groups.values())
    n_dev = round(len(members) * fraction)
    if not 1 <= n_dev < len(members):
        raise DataError(
            path, f"a dev fraction of {fraction} of {len(members)} distinct rows leaves no dev or train rows"
        )
    labels = None
    if column is not None:
        labels = [str(records[group[0]].get(column)) for group in members]
        _check_strata(path, column, labels, n_dev)
    train, dev = train_test_split(list(range(len(members))), test_size=n_dev, random_state=seed, stratify=labels)
    train, dev = ([i for g in part for i in members[g]] for part in (train, dev))
    fmt = DataSpec(path=path, delimiter=delimiter).resolved_format()
    suffix = path.suffix if fmt != "jsonl" else ".jsonl"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"train": out_dir / f"train{suffix}", "dev": out_dir / f"dev{suffix}"}
    for role, indices in (("train", sorted(train)), ("dev", sorted(dev))):
        chosen = [records[i] for i in indices]
        text = _jsonl(chosen) if fmt == "jsonl" else _delimited(header, chosen, delimiter_of(fmt, delimiter))
        write_text_atomic(paths[role], text)
    return paths


def _check_strata(path: Path, column: str, labels: list[str], n_dev: int) -> None:
    """What sklearn's stratified split would refuse, as one line naming the column (and the class)."""
    counts = Counter(labels)
    rare = min(counts, key=counts.get)
    if counts[rare] < 2:
        raise DataError(
            path, f"class '{rare}' has {counts[rare]} distinct row; stratifying needs 2 or more", field=column
        )
    if not len(counts) <= n_dev <= len(labels) - len(counts):
        raise DataError(
            path,
            f"{len(counts)} classes need at least {len(counts)} rows in dev and in train; change --dev-fraction",
            field=column,
        )


def _jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def _delimited(header: list[str], records: list[dict], delimiter: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([record.get(name, "") for name in header] for record in records)
    return buffer.getvalue()
