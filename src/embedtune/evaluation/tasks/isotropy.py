"""isotropy: how evenly the embeddings of the texts fill the space."""

from __future__ import annotations

from typing import ClassVar, Literal

from embedtune.config.methods import EVAL_TASKS, EvalSetConfig


@EVAL_TASKS.register
class IsotropyTaskConfig(EvalSetConfig):
    """Any pairs file: its distinct texts are embedded (labels unused)."""

    task: Literal["isotropy"] = "isotropy"

    summary: ClassVar = "mean cosine, per-dim std, I(W), effective rank of the texts"

    def build(self, data, name):
        from embedtune.evaluation.isotropy import IsotropyEvaluator

        return IsotropyEvaluator(list(dict.fromkeys(data.texts())), name=name, source=data.source)
