"""pairs: binary pair classification by cosine (ROC-AUC, AP, F1 at a cross-validated threshold)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import EVAL_TASKS, EvalSetConfig
from embedtune.data.spec import DataSpec


@EVAL_TASKS.register
class PairsTaskConfig(EvalSetConfig):
    """Pairs with 0/1 labels."""

    task: Literal["pairs"] = "pairs"
    threshold_data: DataSpec | None = Field(None, description="choose the F1 threshold here, not by k-fold CV")
    folds: int = Field(5, ge=2, description="k-fold CV for the threshold when threshold_data is absent")

    summary: ClassVar = "ROC-AUC, AP, F1 (0/1 labels)"

    def build(self, data, name):
        from embedtune.data.readers import load_pairs
        from embedtune.evaluation.pair_classification import PairClassificationEvaluator

        threshold = load_pairs(self.threshold_data) if self.threshold_data is not None else None
        return PairClassificationEvaluator.from_pairs(data, name=name, threshold_data=threshold, folds=self.folds)
