"""Separability: how far apart the cosines of positive and negative pairs sit, independent of any threshold.

ROC-AUC only says whether positives rank above negatives; the gap, effect size and histogram overlap say by how much,
which is what a threshold has to live with on new data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedtune.errors import UserError
from embedtune.evaluation.base import PairItemEvaluator
from embedtune.evaluation.embed import check_pairs
from embedtune.evaluation.pair_classification import check_binary

if TYPE_CHECKING:
    from embedtune.data.pairs import PairData


class SeparabilityEvaluator(PairItemEvaluator):
    """``pos_mean``, ``neg_mean``, ``gap`` (pos - neg), ``cohens_d`` and histogram ``overlap``; primary ``gap``.

    Cohen's d divides the gap by the pooled standard deviation (ddof=1 per class); ``overlap`` is the sum over
    ``bins`` fixed bins on [-1, 1] of the smaller of the two class histograms, each normalised to sum 1 (1: the
    distributions coincide, 0: they do not touch). A resample missing a class gets NaN.
    """

    def __init__(
        self,
        texts1: Sequence[str],
        texts2: Sequence[str],
        labels: Sequence[float],
        name: str = "separability",
        batch_size: int = 64,
        bins: int = 50,
        source: str | None = None,
    ) -> None:
        super().__init__()
        source = source or name
        check_pairs(texts1, texts2, labels, source)
        if bins < 1:
            raise UserError(f"{source}: separability needs at least 1 histogram bin, got {bins}")
        # Two of each class so both standard deviations exist.
        self.labels = check_binary(labels, source, 2)
        self.texts1, self.texts2 = list(texts1), list(texts2)
        self.name, self.batch_size, self.bins = name, batch_size, bins
        self.greater_is_better = True
        self.primary_metric = f"{name}_gap" if name else "gap"

    @classmethod
    def from_pairs(cls, data: PairData, name: str = "separability", **kwargs: Any) -> SeparabilityEvaluator:
        cls.require_labels(data, "a separability set needs a 0/1 label")
        return cls(data.texts1, data.texts2, data.labels, name=name, source=data.source, **kwargs)

    def item_scores(self, model: Any) -> dict[str, np.ndarray]:
        return {"cosine": self.cosines(model), "label": self.labels.astype(np.float64)}

    def resampled_metrics(self, items: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cosines, positive = np.asarray(items["cosine"], dtype=np.float64), np.asarray(items["label"]) == 1
        with np.errstate(divide="ignore", invalid="ignore"):
            pos_mean, pos_var, pos_n = class_moments(cosines, positive)
            neg_mean, neg_var, neg_n = class_moments(cosines, ~positive)
            pooled = np.sqrt(((pos_n - 1) * pos_var + (neg_n - 1) * neg_var) / (pos_n + neg_n - 2))
            gap = pos_mean - neg_mean
            return {
                "pos_mean": pos_mean,
                "neg_mean": neg_mean,
                "gap": gap,
                "cohens_d": gap / pooled,
                "overlap": histogram_overlap(cosines, positive, self.bins),
            }

    def get_config_dict(self) -> dict[str, Any]:
        return {"pairs": len(self.texts1), "bins": self.bins}


def class_moments(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row mean, sample variance (ddof=1) and count of ``values`` where ``mask``; NaN where undefined."""
    count = mask.sum(axis=-1)
    mean = np.where(mask, values, 0.0).sum(axis=-1) / count
    squares = np.where(mask, (values - mean[..., None]) ** 2, 0.0).sum(axis=-1)
    return mean, squares / (count - 1), count


def histogram_overlap(values: np.ndarray, positive: np.ndarray, bins: int) -> np.ndarray:
    """Per-row overlap coefficient of the positive and negative histograms over ``bins`` equal bins on [-1, 1].

    One ``bincount`` over (row, class, bin) indices builds every histogram of every resample at once.
    """
    rows = values.shape[0]
    index = np.clip(np.floor((values + 1.0) / 2.0 * bins).astype(np.int64), 0, bins - 1)
    flat = (np.arange(rows)[:, None] * 2 + positive.astype(np.int64)) * bins + index
    counts = np.bincount(flat.ravel(), minlength=rows * 2 * bins).reshape(rows, 2, bins).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = counts / counts.sum(axis=-1, keepdims=True)
        return np.minimum(shares[:, 0], shares[:, 1]).sum(axis=-1)
