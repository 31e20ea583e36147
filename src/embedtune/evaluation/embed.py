"""Encode texts once each: evaluation sets repeat texts (one query paired with many candidates)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def encode_unique(model: Any, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Unit-normalised embeddings of ``texts`` in input order, calling ``model.encode`` once on the distinct texts."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    unique = list(dict.fromkeys(texts))
    embeddings = model.encode(
        unique, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
    )
    position = {text: i for i, text in enumerate(unique)}
    return np.asarray(embeddings)[[position[text] for text in texts]]


def encode_pair_cosines(
    model: Any, pair_sets: Sequence[tuple[Sequence[str], Sequence[str]]], batch_size: int = 64
) -> list[np.ndarray]:
    """Per-pair cosines for each ``(texts1, texts2)`` set, encoding the distinct texts of all sets in one call."""
    from embedtune.evaluation.metrics import pair_cosines

    texts = [text for texts1, texts2 in pair_sets for text in [*texts1, *texts2]]
    embeddings, start, cosines = encode_unique(model, texts, batch_size), 0, []
    for texts1, texts2 in pair_sets:
        n = len(texts1)
        cosines.append(pair_cosines(embeddings[start : start + n], embeddings[start + n : start + 2 * n]))
        start += 2 * n
    return cosines


def check_pairs(texts1: Sequence[str], texts2: Sequence[str], values: Sequence[float] | None, source: str) -> None:
    """UserError naming ``source`` unless the pair columns (and values, if any) are non-empty and equally long."""
    from embedtune.errors import UserError

    lengths = {len(texts1), len(texts2)} | ({len(values)} if values is not None else set())
    if len(lengths) != 1:
        raise UserError(f"{source}: pair columns have different lengths {sorted(lengths)}")
    if not texts1:
        raise UserError(f"{source}: no pairs to evaluate")
    if values is not None and not np.all(np.isfinite(np.asarray(values, dtype=np.float64))):
        raise UserError(f"{source}: labels must be finite numbers")
