"""A data report before training: label balance, text lengths, duplicates, contradictions, near duplicates, leakage.

Everything is returned as a plain JSON-serialisable dict (:func:`inspect_pairs`); :func:`format_inspection` renders
it for a terminal. Row references are file line numbers from ``PairData.lines`` (row number + 1 without them).

Near duplicates compare each distinct pair (its two texts sorted, so ``(a, b)`` and ``(b, a)`` are the same) by the
cosine of character 3-gram TF-IDF vectors, a sparse product in row blocks. That is quadratic in the worst case, so
only the first ``max_near_duplicate_rows`` distinct pairs are compared and the report says when it stopped short.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from embedtune.data.checks import find_duplicate_pairs, find_leakage
from embedtune.data.pairs import PairData

_BLOCK = 512  # rows per sparse similarity block
_EXAMPLES = 10


def inspect_pairs(
    data: PairData,
    eval_data: PairData | None = None,
    near_duplicate_threshold: float = 0.9,
    max_near_duplicate_rows: int = 10_000,
    contradiction_gap: float = 0.5,
) -> dict:
    """Inspect one data set (and its overlap with ``eval_data``); see the module docstring for what is checked.

    Two labels of the same pair contradict when they differ by at least ``contradiction_gap`` (labels are already
    normalised to [0, 1], so 0 vs 1 always does and 0.8 vs 0.85 on a similarity scale does not).
    """
    lines = [data.lines[i] if data.lines else i + 1 for i in range(len(data))]
    columns = {"text1": data.texts1, "text2": data.texts2}
    if data.negatives is not None:
        columns["negative"] = data.negatives
    return {
        "source": data.source,
        "rows": len(data),
        "kind": data.kind,
        "labels": _label_balance(data.labels) if data.labels is not None else None,
        "phases": _phases(data),
        "lengths": {name: _lengths(texts) for name, texts in columns.items()},
        "duplicates": _duplicates(data),
        "contradictions": _contradictions(data, lines, contradiction_gap),
        "near_duplicates": _near_duplicates(data, lines, near_duplicate_threshold, max_near_duplicate_rows),
        "leakage": _leakage(data, eval_data) if eval_data is not None else None,
    }


# --- labels and phases ---------------------------------------------------------------------------------------------


def _label_balance(labels: list[float]) -> dict:
    values = np.asarray(labels, dtype=np.float64)
    positive = int((values >= 0.5).sum())
    distinct = sorted(set(values.tolist()))
    report: dict[str, Any] = {
        "count": int(values.size),
        "mean": float(values.mean()) if values.size else None,
        "positive": positive,
        "negative": int(values.size) - positive,
        "positive_share": positive / values.size if values.size else None,
        "distinct": len(distinct),
    }
    if len(distinct) <= 10:
        counts = Counter(values.tolist())
        report["counts"] = {_label_key(v): counts[v] for v in distinct}
    else:
        edges = np.linspace(0.0, 1.0, 6)
        hist, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=edges)
        report["histogram"] = [
            {"from": float(lo), "to": float(hi), "count": int(n)} for lo, hi, n in zip(edges, edges[1:], hist)
        ]
    return report


def _label_key(value: float) -> str:
    return f"{value:g}"


def _phases(data: PairData) -> dict | None:
    if data.phases is None:
        return None
    rows: dict[str, list[int]] = defaultdict(list)
    for i, phase in enumerate(data.phases):
        rows[phase].append(i)
    return {
        phase: {
            "rows": len(indices),
            "labels": _label_balance([data.labels[i] for i in indices]) if data.labels is not None else None,
        }
        for phase, indices in rows.items()
    }


# --- lengths -------------------------------------------------------------------------------------------------------


def _lengths(texts: list[str]) -> dict:
    return {
        "chars": _distribution([len(t) for t in texts]),
        "tokens": _distribution([len(t.split()) for t in texts]),
        "empty": sum(1 for t in texts if not t.strip()),
    }


def _distribution(values: list[int]) -> dict:
    if not values:
        return {"min": None, "median": None, "mean": None, "p95": None, "max": None}
    array = np.asarray(values, dtype=np.float64)
    return {
        "min": int(array.min()),
        "median": float(np.median(array)),
        "mean": float(array.mean()),
        "p95": float(np.percentile(array, 95)),
        "max": int(array.max()),
    }


# --- duplicates and contradictions -----------------------------------------------------------------------------


def _key(text1: str, text2: str) -> tuple[str, str]:
    return (text1, text2) if text1 <= text2 else (text2, text1)


def _duplicates(data: PairData) -> dict:
    duplicates = find_duplicate_pairs(data)
    return {
        "count": len(duplicates),
        "examples": [{"line": repeat, "first_line": first} for first, repeat in duplicates[:_EXAMPLES]],
    }


def _contradictions(data: PairData, lines: list[int], gap: float) -> dict:
    """Same pair with labels ``gap`` apart; in triplets, a text that is both a positive and a negative of an anchor."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (a, b) in enumerate(zip(data.texts1, data.texts2)):
        groups[_key(a, b)].append(i)
    examples: list[dict] = []
    label_conflicts = disagreements = 0
    if data.labels is not None:
        for rows in groups.values():
            a, b = data.texts1[rows[0]], data.texts2[rows[0]]
            labels = [float(data.labels[i]) for i in rows]
            if max(labels) == min(labels):
                continue
            disagreements += 1
            if max(labels) - min(labels) >= gap:
                label_conflicts += 1
                if len(examples) < _EXAMPLES:
                    lines_of = [lines[i] for i in rows]
                    examples.append({"kind": "label", "text1": a, "text2": b, "lines": lines_of, "labels": labels})
    negative_conflicts = 0
    if data.negatives is not None:
        for i, (anchor, negative) in enumerate(zip(data.texts1, data.negatives)):
            rows = groups.get(_key(anchor, negative))
            if rows:
                negative_conflicts += 1
                if len(examples) < _EXAMPLES:
                    examples.append(
                        {
                            "kind": "negative_is_positive",
                            "text1": anchor,
                            "text2": negative,
                            "lines": [lines[i]] + [lines[j] for j in rows[:3]],
                            "labels": None,
                        }
                    )
    return {
        "count": label_conflicts + negative_conflicts,
        "label_conflicts": label_conflicts,
        "label_disagreements": disagreements,
        "negative_is_positive": negative_conflicts,
        "gap": gap,
        "examples": examples,
    }


# --- near duplicates -------------------------------------------------------------------------------------------


def _near_duplicates(data: PairData, lines: list[int], threshold: float, max_rows: int) -> dict:
    first_row: dict[tuple[str, str], int] = {}
    for i, (a, b) in enumerate(zip(data.texts1, data.texts2)):
        first_row.setdefault(_key(a, b), i)
    keys = list(first_row)
    checked = keys[:max_rows]
    report: dict[str, Any] = {
        "threshold": threshold,
        "method": "character 3-gram TF-IDF cosine of each distinct pair's two texts (exact duplicates excluded)",
        "distinct_pairs": len(keys),
        "checked_pairs": len(checked),
        "truncated": len(keys) > len(checked),
        "count": 0,
        "rows": 0,
        "examples": [],
    }
    if len(checked) < 2:
        return report
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = [f"{a}\n{b}" for a, b in checked]
    try:
        matrix = TfidfVectorizer(analyzer="char", ngram_range=(3, 3), dtype=np.float32).fit_transform(documents)
    except ValueError:  # every text shorter than three characters: no 3-grams at all
        return report
    found: list[tuple[float, int, int]] = []
    for start in range(0, len(checked), _BLOCK):
        block = (matrix[start : start + _BLOCK] @ matrix.T).tocoo()
        mask = (block.data >= threshold - 1e-6) & (block.col > block.row + start)
        for i, j, score in zip(block.row[mask] + start, block.col[mask], block.data[mask]):
            found.append((float(score), int(i), int(j)))
    found.sort(key=lambda item: (-item[0], item[1], item[2]))
    involved = {index for _, i, j in found for index in (i, j)}
    report["count"] = len(found)
    report["rows"] = len(involved)
    report["examples"] = [
        {
            "line": lines[first_row[checked[i]]],
            "other_line": lines[first_row[checked[j]]],
            "similarity": min(score, 1.0),
            "text": _clip(" | ".join(checked[i])),
            "other_text": _clip(" | ".join(checked[j])),
        }
        for score, i, j in found[:_EXAMPLES]
    ]
    return report


# --- leakage -------------------------------------------------------------------------------------------------------


def _leakage(data: PairData, eval_data: PairData) -> dict:
    shared = find_leakage(data, eval_data)
    train_texts = set(data.texts())
    eval_pairs = {_key(a, b) for a, b in zip(eval_data.texts1, eval_data.texts2)}
    shared_pairs = {_key(a, b) for a, b in zip(data.texts1, data.texts2)} & eval_pairs
    return {
        "eval_source": eval_data.source,
        "shared_texts": len(shared),
        "shared_text_share": len(shared) / len(train_texts) if train_texts else 0.0,
        "shared_pairs": len(shared_pairs),
        "examples": [_clip(text) for text in sorted(shared)[:_EXAMPLES]],
    }


def _clip(text: str, limit: int = 80) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- rendering -------------------------------------------------------------------------------------------------------


def format_inspection(report: dict) -> str:
    """A terminal-friendly rendering of :func:`inspect_pairs`'s report."""
    out = [f"{report['source']}: {report['rows']:,} rows ({report['kind']})"]
    if report["labels"] is not None:
        out.append("Labels: " + _format_labels(report["labels"]))
    if report["phases"] is not None:
        for phase, info in report["phases"].items():
            labels = f", {_format_labels(info['labels'])}" if info["labels"] is not None else ""
            out.append(f"  phase {phase}: {info['rows']:,} rows{labels}")
    out.append(f"Lengths {'':<10}{'chars min/median/mean/p95/max':>36}{'tokens min/median/mean/p95/max':>36}")
    for name, info in report["lengths"].items():
        empty = f"  ({info['empty']} empty)" if info["empty"] else ""
        out.append(
            f"  {name:<16}{_format_distribution(info['chars']):>36}{_format_distribution(info['tokens']):>36}{empty}"
        )

    duplicates = report["duplicates"]
    if duplicates["count"]:
        first = duplicates["examples"][0]
        out.append(
            f"Exact duplicates: {duplicates['count']:,} rows repeat an earlier pair (order-insensitive), "
            f"e.g. line {first['line']} repeats line {first['first_line']}"
        )
    else:
        out.append("Exact duplicates: none")

    contradictions = report["contradictions"]
    if contradictions["count"]:
        out.append(
            f"Contradictions: {contradictions['label_conflicts']:,} pairs with labels at least "
            f"{contradictions['gap']:g} apart, {contradictions['negative_is_positive']:,} negatives that are also "
            "paired as positives"
        )
        for example in contradictions["examples"][:3]:
            lines = ", ".join(str(n) for n in example["lines"])
            labels = (
                " labels " + "/".join(f"{v:g}" for v in example["labels"]) if example["labels"] is not None else ""
            )
            out.append(f"  lines {lines}:{labels} '{_clip(example['text1'], 40)}' | '{_clip(example['text2'], 40)}'")
    else:
        extra = contradictions["label_disagreements"]
        out.append(
            "Contradictions: none" + (f" ({extra} pairs repeat with slightly different labels)" if extra else "")
        )

    near = report["near_duplicates"]
    cap = (
        f"; only the first {near['checked_pairs']:,} of {near['distinct_pairs']:,} distinct pairs were compared"
        if near["truncated"]
        else ""
    )
    if near["count"]:
        first = near["examples"][0]
        out.append(
            f"Near duplicates (char 3-gram TF-IDF cosine >= {near['threshold']:g}): {near['count']:,} pairs of rows "
            f"({near['rows']:,} rows), e.g. lines {first['line']} and {first['other_line']} "
            f"({first['similarity']:.2f}){cap}"
        )
    else:
        out.append(f"Near duplicates (char 3-gram TF-IDF cosine >= {near['threshold']:g}): none{cap}")

    leakage = report["leakage"]
    if leakage is not None:
        if leakage["shared_texts"]:
            out.append(
                f"Leakage: {leakage['shared_texts']:,} texts ({leakage['shared_text_share']:.1%} of this file's "
                f"distinct texts) and {leakage['shared_pairs']:,} pairs also appear in {leakage['eval_source']}, "
                f"e.g. '{leakage['examples'][0]}'"
            )
        else:
            out.append(f"Leakage: no texts shared with {leakage['eval_source']}")
    return "\n".join(out)


def _format_labels(labels: dict) -> str:
    if not labels["count"]:
        return "none"
    text = (
        f"{labels['positive']:,} positive (>= 0.5) / {labels['negative']:,} negative "
        f"({labels['positive_share']:.1%} positive), mean {labels['mean']:.3f}"
    )
    if "counts" in labels and len(labels["counts"]) > 2:
        text += "; " + ", ".join(f"{k}: {v:,}" for k, v in labels["counts"].items())
    return text


def _format_distribution(info: dict) -> str:
    if info["min"] is None:
        return "-"
    return f"{info['min']}/{info['median']:g}/{info['mean']:.1f}/{info['p95']:.1f}/{info['max']}"
