"""Adversarial diagnostic: a hand-made set of hard pairs (negation, swapped roles, near-duplicate wording) that a
model must still separate. It answers yes or no, so a run can fail loudly on the cases that matter most."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from embedtune.errors import UserError
from embedtune.evaluation.base import PairItemEvaluator
from embedtune.evaluation.embed import check_pairs
from embedtune.evaluation.metrics import cv_threshold_metrics
from embedtune.evaluation.pair_classification import check_binary

if TYPE_CHECKING:
    import numpy as np

    from embedtune.data.pairs import PairData


class AdversarialEvaluator(PairItemEvaluator):
    """ROC-AUC, average precision and cross-validated F1/accuracy/precision/recall of hard pairs, and ``passed``.

    ``passed`` is 1.0 when ``roc_auc >= min_roc_auc`` and ``f1 >= min_f1``, else 0.0. The F1 threshold comes from
    stratified ``folds``-fold cross-validation, never from the pairs it is applied to. Not bootstrappable: a
    resample repeats pairs, and a repeated pair can land in both a threshold fold and its held-out fold, which
    would leak; hard-pair sets are also small enough that the pass/fail verdict is the point, not an interval.
    Primary ``roc_auc``.
    """

    bootstrappable = False

    def __init__(
        self,
        texts1: Sequence[str],
        texts2: Sequence[str],
        labels: Sequence[float],
        name: str = "adversarial",
        batch_size: int = 64,
        min_roc_auc: float = 0.70,
        min_f1: float = 0.70,
        folds: int = 5,
        seed: int = 0,
        source: str | None = None,
    ) -> None:
        super().__init__()
        source = source or name
        check_pairs(texts1, texts2, labels, source)
        if folds < 2:
            raise UserError(f"{source}: cross-validating the threshold needs at least 2 folds, got {folds}")
        self.labels = check_binary(labels, source, folds)
        self.texts1, self.texts2 = list(texts1), list(texts2)
        self.name, self.batch_size, self.folds, self.seed = name, batch_size, folds, seed
        self.min_roc_auc, self.min_f1 = min_roc_auc, min_f1
        self.greater_is_better = True
        self.primary_metric = f"{name}_roc_auc" if name else "roc_auc"

    @classmethod
    def from_pairs(cls, data: PairData, name: str = "adversarial", **kwargs: Any) -> AdversarialEvaluator:
        cls.require_labels(data, "an adversarial set needs a 0/1 label")
        return cls(data.texts1, data.texts2, data.labels, name=name, source=data.source, **kwargs)

    def compute(self, model: Any) -> dict[str, float]:
        """Unprefixed metrics, ``threshold`` (chosen on all pairs, information only) and ``passed``."""
        metrics = cv_threshold_metrics(self.cosines(model), self.labels, self.folds, self.seed)
        metrics["passed"] = float(self.passes(metrics))
        return metrics

    def passes(self, metrics: dict[str, float]) -> bool:
        """Both bars cleared; NaN (impossible here, both classes are required) would fail."""
        return bool(metrics["roc_auc"] >= self.min_roc_auc and metrics["f1"] >= self.min_f1)

    def item_scores(self, model: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError("the adversarial diagnostic is not bootstrapped (see its docstring); call it")

    def __call__(self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict:
        metrics = self.prefix_name_to_metrics(self.compute(model), self.name)
        if hasattr(model, "model_card_data"):
            self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "pairs": len(self.texts1),
            "min_roc_auc": self.min_roc_auc,
            "min_f1": self.min_f1,
            "threshold": f"f1-optimal, {self.folds}-fold cross-validated",
        }
