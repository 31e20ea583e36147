"""Writing mined pairs: the train and eval pairs, the documents of each split and the summary, each atomically.

The files are what ``embedtune train`` reads (``load_pairs``'s default TSV quoting, or JSONL); the pairs come from
:func:`embedtune.data.mining.mine_category_pairs`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from embedtune.errors import UserError

if TYPE_CHECKING:
    from embedtune.data.mining import MinedPairs
    from embedtune.data.pairs import PairData


def write_mined(mined: MinedPairs, out_dir: Path, format: Literal["jsonl", "tsv"] = "jsonl") -> dict[str, Path]:
    """Write ``train.<ext>``, ``eval.<ext>`` (sentence1, sentence2, label, phase, category: sentence1's category,
    for group_mnrl), ``train_documents.tsv``, ``eval_documents.tsv`` (text, category), with a test split also
    ``test.<ext>`` and ``test_documents.tsv``, and ``summary.json``, each atomically; returns the paths by role."""
    from embedtune.rundir import write_json_atomic, write_text_atomic

    if format not in ("jsonl", "tsv"):
        raise UserError(f"mining: format must be jsonl or tsv, got {format!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "train": out_dir / f"train.{format}",
        "eval": out_dir / f"eval.{format}",
        "train_documents": out_dir / "train_documents.tsv",
        "eval_documents": out_dir / "eval_documents.tsv",
        "summary": out_dir / "summary.json",
    }
    if mined.test is not None:  # the untouched test split: pairs and documents, as eval's
        paths["test"], paths["test_documents"] = out_dir / f"test.{format}", out_dir / "test_documents.tsv"
    for role in ("train", "eval", "test")[: 3 if mined.test is not None else 2]:
        data: PairData = getattr(mined, role)
        records = [
            {"sentence1": a, "sentence2": b, "label": float(label), "phase": phase, "category": group}
            for a, b, label, phase, group in zip(
                data.texts1, data.texts2, data.labels or [], data.phases or [], data.groups or []
            )
        ]
        write_text_atomic(paths[role], _jsonl(records) if format == "jsonl" else _tsv(records))
    for role in ("train_documents", "eval_documents", "test_documents")[: 3 if mined.test is not None else 2]:
        texts, labels = getattr(mined, role)
        records = [{"text": t, "category": c} for t, c in zip(texts, labels)]
        write_text_atomic(paths[role], _tsv(records, ["text", "category"]))
    write_json_atomic(paths["summary"], mined.summary)
    return paths


# Everything ``embedtune mine`` writes (either --format, with or without a test split); --overwrite removes these.
MINED_FILES = (
    *(f"{role}.{ext}" for role in ("train", "eval", "test") for ext in ("jsonl", "tsv")),
    *(f"{role}_documents.tsv" for role in ("train", "eval", "test")),
    "summary.json",
    "config.yaml",
    "suite.yaml",
    "test-suite.yaml",
)


def remove_mined(out_dir: Path) -> None:
    """Remove an earlier mine's files: one the new mine does not write (its test split, the other format) would
    otherwise stay beside the new split, whose train documents it may hold."""
    for name in MINED_FILES:
        (Path(out_dir) / name).unlink(missing_ok=True)


def _jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _tsv(records: list[dict], header: list[str] | None = None) -> str:
    """Tab-separated with csv quoting (what :func:`embedtune.data.readers.load_pairs` reads by default)."""
    header = header or ["sentence1", "sentence2", "label", "phase", "category"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(header)
    for r in records:
        writer.writerow([f"{r[k]:g}" if isinstance(r[k], float) else r[k] for k in header])
    return buffer.getvalue()
