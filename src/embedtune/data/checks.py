"""Warnings about data that loads fine but would quietly distort training or evaluation."""

from __future__ import annotations

import logging

from embedtune.data.pairs import PairData

logger = logging.getLogger("embedtune")


def find_duplicate_pairs(data: PairData) -> list[tuple[int, int]]:
    """Repeated pairs over-weight themselves in training; (a, b) and (b, a) count as the same pair."""
    first_seen: dict[tuple[str, str], int] = {}
    duplicates: list[tuple[int, int]] = []
    for index, (text1, text2) in enumerate(zip(data.texts1, data.texts2)):
        line = data.lines[index] if data.lines else index + 1
        key = (text1, text2) if text1 <= text2 else (text2, text1)
        if key in first_seen:
            duplicates.append((first_seen[key], line))
        else:
            first_seen[key] = line
    return duplicates


def find_leakage(train: PairData, other: PairData) -> set[str]:
    """Texts the model saw in training make evaluation on them optimistic."""
    return set(train.texts()) & set(other.texts())


def warn_data_issues(train: PairData, evals: list[PairData]) -> list[str]:
    """Warn rather than fail: duplicates and overlap can be intended, but the user should know."""
    messages: list[str] = []
    duplicates = find_duplicate_pairs(train)
    if duplicates:
        first, repeat = duplicates[0]
        messages.append(
            f"{train.source}: {len(duplicates)} duplicate pairs (first at line {repeat}, repeats line {first})"
        )
    for other in evals:
        shared = find_leakage(train, other)
        if shared:
            example = _clip(min(shared))
            messages.append(
                f"{len(shared)} texts appear in both {train.source} and {other.source} (e.g. '{example}'); "
                f"metrics on {other.source} may be optimistic"
            )
    for message in messages:
        logger.warning(message)
    return messages


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
