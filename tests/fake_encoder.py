"""The one stand-in for a SentenceTransformer in evaluator and mining tests: fixed vectors per text, honouring
``normalize_embeddings``."""

from __future__ import annotations

import math

import numpy as np


class FakeEncoder:
    """``encode`` returns the given vector of each text and records the texts (``calls``) and the keyword arguments
    (``kwargs``) of every call."""

    def __init__(self, vectors: dict[str, list[float] | np.ndarray]) -> None:
        self.vectors = {text: np.asarray(vector, dtype=np.float64) for text, vector in vectors.items()}
        self.calls: list[list[str]] = []
        self.kwargs: list[dict] = []

    def encode(self, texts, normalize_embeddings: bool = False, **kwargs) -> np.ndarray:
        self.calls.append(list(texts))
        self.kwargs.append({**kwargs, "normalize_embeddings": normalize_embeddings})
        out = np.array([self.vectors[text] for text in texts], dtype=np.float32)
        if normalize_embeddings:
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def at_angle(cosine: float) -> list[float]:
    """A unit 2-d vector whose cosine with [1, 0] is ``cosine``."""
    return [cosine, math.sqrt(1 - cosine * cosine)]


def pairs_at(cosines: list[float], prefix: str = "t") -> tuple[FakeEncoder, list[str], list[str]]:
    """Pairs (anchor, text_i) whose cosines are exactly ``cosines``, and a fake model producing them."""
    texts2 = [f"{prefix}{i}" for i in range(len(cosines))]
    vectors = {"anchor": [1.0, 0.0], **{t: at_angle(c) for t, c in zip(texts2, cosines)}}
    return FakeEncoder(vectors), ["anchor"] * len(cosines), texts2
