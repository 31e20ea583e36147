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
    embeddings = model.encode(unique, batch_size=batch_size, **encode_options(model, len(unique)))
    position = {text: i for i, text in enumerate(unique)}
    return np.asarray(embeddings)[[position[text] for text in texts]]


def encode_options(model: Any, count: int) -> dict[str, Any]:
    """Unit vectors as numpy; every GPU and a progress bar for a large encode (devices.encode_devices)."""
    from embedtune.devices import MULTI_PROCESS_MIN, encode_devices

    options = {"convert_to_numpy": True, "normalize_embeddings": True, "show_progress_bar": count >= MULTI_PROCESS_MIN}
    devices = encode_devices(model, count)
    return {**options, "device": devices} if devices else options


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


def truncate_embeddings(embeddings: np.ndarray, dim: int) -> np.ndarray:
    """The first ``dim`` dimensions, re-normalised: how a Matryoshka-trained model is meant to be shortened.

    Truncating a unit vector and re-normalising gives the same direction as truncating the raw vector, so full-size
    normalised embeddings can be cached once and truncated to every size.
    """
    from embedtune.errors import UserError

    embeddings = np.asarray(embeddings, dtype=np.float32)
    if not 1 <= dim <= embeddings.shape[-1]:
        raise UserError(f"cannot truncate {embeddings.shape[-1]}-dimensional embeddings to {dim} dimensions")
    head = embeddings[..., :dim]
    return head / np.maximum(np.linalg.norm(head, axis=-1, keepdims=True), 1e-12)


class EmbeddingCache:
    """Encodes each text once at full size per model state; :meth:`truncated` serves shorter views from memory.

    Build a new cache for every evaluation: the model changes between training steps, the cache does not notice.
    """

    def __init__(self, model: Any, batch_size: int = 64) -> None:
        self.model, self.batch_size = model, batch_size
        self.vectors: dict[str, np.ndarray] = {}

    def embeddings(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised full-size embeddings of ``texts``, encoding only texts not seen before."""
        texts = list(texts)
        missing = [text for text in dict.fromkeys(texts) if text not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, encode_unique(self.model, missing, self.batch_size)))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.vectors[text] for text in texts])

    def encode(self, sentences: Sequence[str] | str, **kwargs: Any) -> np.ndarray:
        """Stands in for ``model.encode`` (unit-normalised numpy), so evaluators share the cache; an option it
        cannot honour is an error, not silently ignored."""
        unsupported = {k for k in ("prompt", "prompt_name", "output_value", "convert_to_tensor") if kwargs.get(k)}
        if kwargs.get("normalize_embeddings") is False:
            unsupported.add("normalize_embeddings=False")
        if unsupported:
            raise ValueError(f"EmbeddingCache.encode cannot honour {sorted(unsupported)}")
        if isinstance(sentences, str):
            return self.embeddings([sentences])[0]
        return self.embeddings(sentences)

    def truncated(self, dim: int) -> TruncatedEncoder:
        return TruncatedEncoder(self, dim)


class TruncatedEncoder:
    """Stands in for a model: ``encode`` returns cached embeddings cut to ``dim`` dimensions and re-normalised.

    Evaluators call ``model.encode`` and nothing else, so any of them runs unchanged at a truncated size. Encoding
    options are ignored: the cache encodes with its own batch size and every result is unit-normalised.
    """

    def __init__(self, cache: EmbeddingCache, dim: int) -> None:
        self.cache, self.dim = cache, dim

    def encode(self, sentences: Sequence[str] | str, **kwargs: Any) -> np.ndarray:
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        embeddings = truncate_embeddings(self.cache.embeddings(texts), self.dim)
        return embeddings[0] if single else embeddings
