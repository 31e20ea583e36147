"""attention_distill: KL between teacher and student attention maps (embedtune.objectives.distillation)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import LOSSES, TeacherLossConfig
from embedtune.objectives.losses.isotropy import ANY_DATA


@LOSSES.register
class AttentionDistillLossConfig(TeacherLossConfig):
    """Inputs: any text columns (labels ignored)."""

    name: Literal["attention_distill"] = "attention_distill"
    layer_map: dict[int, int] | Literal["uniform"] | None = Field(
        None,
        description="student -> teacher layer of attention maps to align; uniform (the default): each student "
        "layer to its proportional teacher layer",
    )

    accepts: ClassVar = ANY_DATA
    layer_kind: ClassVar = ("attention layers", 1)
    summary: ClassVar = (
        "KL between teacher and student attention of mapped layers, compared between words (tokenisers differ)."
    )

    def attention_layers(self, student_layers: int, teacher_layers: int) -> dict[int, int]:
        from embedtune.objectives.distillation import uniform_layer_map

        if isinstance(self.layer_map, dict):
            return dict(self.layer_map)
        return uniform_layer_map(student_layers, teacher_layers)

    def build(self, model, teachers):
        from embedtune.objectives.distillation import AttentionDistillLoss
        from embedtune.objectives.teacher import transformer_config

        cache = teachers[self.teacher, "all"]
        layers = self.attention_layers(transformer_config(model).num_hidden_layers, cache.num_layers)
        return AttentionDistillLoss(model, cache, layers)
