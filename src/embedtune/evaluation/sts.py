"""Semantic textual similarity: how well pair cosines rank with graded gold scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedtune.evaluation.base import PairItemEvaluator
from embedtune.evaluation.embed import check_pairs
from embedtune.evaluation.metrics import pearson_batched, spearman_batched

if TYPE_CHECKING:
    from embedtune.data.pairs import PairData


class STSEvaluator(PairItemEvaluator):
    """Spearman and Pearson correlation of cosine(text1, text2) with gold scores; primary metric ``spearman``.

    Items are pairs: ``item_scores`` gives each pair's cosine and gold score, so a bootstrap resamples pairs.
    """

    def __init__(
        self,
        texts1: Sequence[str],
        texts2: Sequence[str],
        scores: Sequence[float],
        name: str = "sts",
        batch_size: int = 64,
        source: str | None = None,
    ) -> None:
        super().__init__()
        check_pairs(texts1, texts2, scores, source or name)
        self.texts1, self.texts2 = list(texts1), list(texts2)
        self.gold = np.asarray(scores, dtype=np.float64)
        self.name, self.batch_size = name, batch_size
        self.greater_is_better = True
        self.primary_metric = f"{name}_spearman" if name else "spearman"

    @classmethod
    def from_pairs(cls, data: PairData, name: str = "sts", batch_size: int = 64) -> STSEvaluator:
        cls.require_labels(data, "an STS evaluation set needs a score")
        return cls(data.texts1, data.texts2, data.labels, name=name, batch_size=batch_size, source=data.source)

    def item_scores(self, model: Any) -> dict[str, np.ndarray]:
        """``{"cosine": (n,), "gold": (n,)}`` in input order: everything the correlations need."""
        return {"cosine": self.cosines(model), "gold": self.gold.copy()}

    def resampled_metrics(self, items: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``{"spearman": (B,), "pearson": (B,)}`` from ``(B, n)`` cosines and gold (NaN where a row is constant)."""
        cosines, gold = items["cosine"], items["gold"]
        return {"spearman": spearman_batched(cosines, gold), "pearson": pearson_batched(cosines, gold)}

    def get_config_dict(self) -> dict[str, Any]:
        return {"pairs": len(self.texts1)}
