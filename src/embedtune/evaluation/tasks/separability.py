"""separability: how far apart the cosines of positive and negative pairs are."""

from __future__ import annotations

from typing import ClassVar, Literal

from embedtune.config.methods import EVAL_TASKS, EvalSetConfig


@EVAL_TASKS.register
class SeparabilityTaskConfig(EvalSetConfig):
    """Pairs with 0/1 labels."""

    task: Literal["separability"] = "separability"

    summary: ClassVar = "positive vs negative cosine gap, Cohen's d, overlap"

    def build(self, data, name):
        from embedtune.evaluation.separability import SeparabilityEvaluator

        return SeparabilityEvaluator.from_pairs(data, name=name)
