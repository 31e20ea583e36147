"""sts: Spearman and Pearson correlation of pair cosines with gold scores."""

from __future__ import annotations

from typing import ClassVar, Literal

from embedtune.config.methods import EVAL_TASKS, EvalSetConfig


@EVAL_TASKS.register
class STSTaskConfig(EvalSetConfig):
    """Scored pairs (sentence1, sentence2, score)."""

    task: Literal["sts"] = "sts"

    summary: ClassVar = "Spearman/Pearson of pair cosines vs scores"

    def build(self, data, name):
        from embedtune.evaluation.sts import STSEvaluator

        return STSEvaluator.from_pairs(data, name=name)
