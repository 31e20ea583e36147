"""adversarial: pass / fail on hard pairs (ROC-AUC and F1 against thresholds)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import EVAL_TASKS, EvalSetConfig


@EVAL_TASKS.register
class AdversarialTaskConfig(EvalSetConfig):
    """Hard pairs with 0/1 labels (e.g. paraphrases vs near-misses)."""

    task: Literal["adversarial"] = "adversarial"
    min_roc_auc: float = Field(0.70, ge=0, le=1, description="pass threshold")
    min_f1: float = Field(0.70, ge=0, le=1, description="pass threshold")
    folds: int = Field(5, ge=2, description="k-fold CV for the F1 threshold")

    summary: ClassVar = "pass/fail of ROC-AUC and F1 on hard pairs"

    def build(self, data, name):
        from embedtune.evaluation.adversarial import AdversarialEvaluator

        return AdversarialEvaluator.from_pairs(
            data, name=name, min_roc_auc=self.min_roc_auc, min_f1=self.min_f1, folds=self.folds
        )
