"""score_distill: the student's pair cosine regresses on the teacher's (embedtune.objectives.distillation)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import LOSSES, MatryoshkaLossConfig, TeacherLossConfig


@LOSSES.register
class ScoreDistillLossConfig(TeacherLossConfig, MatryoshkaLossConfig):
    """Inputs: (sentence1, sentence2[, score]); the gold score only enters through gold_blend."""

    name: Literal["score_distill"] = "score_distill"
    gold_blend: float = Field(
        0.0, ge=0, le=1, description="target = (1 - b) teacher cosine + b gold score (scored or binary data)"
    )

    accepts: ClassVar = ("pairs", "scored", "binary", "triplets")
    summary: ClassVar = (
        "Student pair cosine regresses on the teacher's (teacher, optionally blended with gold scores: gold_blend)."
    )

    def needs_labels(self) -> bool:
        return self.gold_blend > 0  # the gold score is blended into the target

    def build(self, model, teachers):
        from embedtune.objectives.distillation import ScoreDistillLoss

        return ScoreDistillLoss(model, teachers[self.teacher, "all"], gold_blend=self.gold_blend)
