"""Pair classification: do cosines separate 0/1-labelled pairs, and how well at a threshold not tuned on them?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedtune.errors import UserError
from embedtune.evaluation.base import PairItemEvaluator
from embedtune.evaluation.embed import check_pairs, encode_pair_cosines
from embedtune.evaluation.metrics import (
    average_precision_batched,
    best_f1_threshold,
    binary_prediction_metrics_batched,
    cv_predictions,
    roc_auc_batched,
)

if TYPE_CHECKING:
    from embedtune.data.pairs import PairData

Pairs = tuple[Sequence[str], Sequence[str], Sequence[float]]


def check_binary(labels: Sequence[float], source: str, minimum: int) -> np.ndarray:
    """Labels as a bool array; UserError naming ``source`` unless all are 0/1 with ``minimum`` of each class."""
    values = np.asarray(labels, dtype=np.float64)
    if not np.all((values == 0) | (values == 1)):
        bad = sorted({float(v) for v in values[(values != 0) & (values != 1)]})[:3]
        raise UserError(f"{source}: a pair-classification set needs labels 0 or 1, found {bad}")
    positives, negatives = int(values.sum()), int((values == 0).sum())
    if min(positives, negatives) < minimum:
        raise UserError(
            f"{source}: needs at least {minimum} positive and {minimum} negative pairs to choose a threshold, "
            f"has {positives} positive and {negatives} negative"
        )
    return values == 1


class PairClassificationEvaluator(PairItemEvaluator):
    """ROC-AUC and average precision of cosines, plus F1/accuracy/precision/recall at an honestly chosen threshold.

    The threshold maximises F1 on ``threshold_pairs`` when given (never on the evaluated pairs); otherwise the
    threshold metrics come from stratified ``folds``-fold cross-validation over the evaluated pairs. Primary metric
    ``roc_auc``.

    Items are the evaluated pairs. Each item carries its 0/1 prediction, fixed once in ``item_scores`` (out-of-fold
    under CV, or from the threshold pairs), so a bootstrap resample recomputes F1 etc. from resampled (prediction,
    label) pairs and never re-tunes a threshold on resampled test items. The intervals therefore cover the sampling
    of test pairs, not the variability of threshold selection itself.

    ``threshold`` (the threshold applied, or under CV the one chosen on all pairs, for information only) is reported
    by ``__call__`` but is not bootstrapped: it is a tuning output, not a statistic over items. It travels with each
    model's items as a constant ``"threshold"`` column so that two models scored by one evaluator keep their own.
    """

    def __init__(
        self,
        texts1: Sequence[str],
        texts2: Sequence[str],
        labels: Sequence[float],
        name: str = "pairs",
        folds: int = 5,
        threshold_pairs: Pairs | None = None,
        seed: int = 0,
        batch_size: int = 64,
        source: str | None = None,
        threshold_source: str | None = None,
    ) -> None:
        super().__init__()
        source = source or name
        check_pairs(texts1, texts2, labels, source)
        if threshold_pairs is None and folds < 2:
            raise UserError(f"{source}: cross-validating the threshold needs at least 2 folds, got {folds}")
        self.labels = check_binary(labels, source, folds if threshold_pairs is None else 1)
        self.threshold_pairs = None
        if threshold_pairs is not None:
            t_source = threshold_source or f"{source} (threshold pairs)"
            check_pairs(*threshold_pairs, t_source)
            t1, t2, t_labels = threshold_pairs
            self.threshold_pairs = (list(t1), list(t2), check_binary(t_labels, t_source, 1))
        self.texts1, self.texts2 = list(texts1), list(texts2)
        self.name, self.folds, self.seed, self.batch_size = name, folds, seed, batch_size
        self.greater_is_better = True
        self.primary_metric = f"{name}_roc_auc" if name else "roc_auc"

    @classmethod
    def from_pairs(
        cls, data: PairData, name: str = "pairs", threshold_data: PairData | None = None, folds: int = 5, **kwargs: Any
    ) -> PairClassificationEvaluator:
        for part in (data, threshold_data):
            if part is not None and part.labels is None:
                raise UserError(f"{part.source}: a pair-classification set needs a 0/1 label for every pair, has none")
        threshold_pairs = None
        if threshold_data is not None:
            threshold_pairs = (threshold_data.texts1, threshold_data.texts2, threshold_data.labels)
        threshold_source = threshold_data.source if threshold_data is not None else None
        return cls(
            data.texts1,
            data.texts2,
            data.labels,
            name=name,
            folds=folds,
            threshold_pairs=threshold_pairs,
            source=data.source,
            threshold_source=threshold_source,
            **kwargs,
        )

    def item_scores(self, model: Any) -> dict[str, np.ndarray]:
        """``{"cosine", "label", "predicted", "threshold"}``, each ``(n,)`` in input order; see the class docstring."""
        if self.threshold_pairs is None:
            cosines = self.cosines(model)
            predicted = cv_predictions(cosines, self.labels, self.folds, self.seed)
            threshold = best_f1_threshold(cosines, self.labels)
        else:
            t1, t2, t_labels = self.threshold_pairs
            cosines, t_cosines = encode_pair_cosines(model, [(self.texts1, self.texts2), (t1, t2)], self.batch_size)
            threshold = best_f1_threshold(t_cosines, t_labels)
            predicted = cosines >= threshold
        return {
            "cosine": cosines,
            "label": self.labels.copy(),
            "predicted": np.asarray(predicted, dtype=bool),
            "threshold": np.full(len(cosines), threshold),
        }

    def resampled_metrics(self, items: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """ROC-AUC, average precision, F1, accuracy, precision, recall, each ``(B,)``, from ``(B, n)`` items."""
        cosines, labels = items["cosine"], items["label"]
        return {
            "roc_auc": roc_auc_batched(cosines, labels),
            "average_precision": average_precision_batched(cosines, labels),
            **binary_prediction_metrics_batched(items["predicted"], labels),
        }

    def metrics_from_items(self, items: dict[str, np.ndarray]) -> dict[str, float]:
        """The point estimates plus the (not bootstrapped) ``threshold``."""
        return {**super().metrics_from_items(items), "threshold": float(items["threshold"][0])}

    def compute(self, model: Any) -> dict[str, float]:
        """Unprefixed metrics plus ``threshold``: the one applied, or under CV the all-data one (information only)."""
        return self.metrics_from_items(self.item_scores(model))

    def get_config_dict(self) -> dict[str, Any]:
        if self.threshold_pairs is not None:
            return {"threshold": "f1-optimal on separate threshold pairs"}
        return {"threshold": f"f1-optimal, {self.folds}-fold cross-validated", "seed": self.seed}
