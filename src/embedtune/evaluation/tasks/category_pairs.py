"""category_pairs: pair classification on seeded same / different-category pairs of documents."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import EVAL_TASKS
from embedtune.evaluation.tasks.documents import DocumentTaskConfig


@EVAL_TASKS.register
class CategoryPairsTaskConfig(DocumentTaskConfig):
    """Documents; same category = 1, different = 0, distinct texts only."""

    task: Literal["category_pairs"] = "category_pairs"
    pairs_per_category: int = Field(100, ge=1, description="positive (and as many negative) pairs each")
    folds: int = Field(5, ge=2, description="k-fold CV for the F1 threshold")

    summary: ClassVar = "pair ROC-AUC/F1 on seeded same/different-category pairs of documents"

    def build(self, data, name):
        from embedtune.evaluation.pair_classification import PairClassificationEvaluator
        from embedtune.evaluation.suite import category_pairs

        texts, labels = self.documents()
        pairs = category_pairs(texts, labels, self.pairs_per_category, self.split_seed, str(self.path))
        return PairClassificationEvaluator.from_pairs(pairs, name=name, folds=self.folds)
