"""feature_distill: MSE to the teacher's embeddings and mapped hidden states (embedtune.objectives.distillation)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import LOSSES, TeacherLossConfig
from embedtune.objectives.losses.isotropy import ANY_DATA


@LOSSES.register
class FeatureDistillLossConfig(TeacherLossConfig):
    """Inputs: any text columns (labels ignored). With teacher self and distill_texts rehearsal, the general texts
    keep their untuned embeddings while the domain pairs move them."""

    name: Literal["feature_distill"] = "feature_distill"
    distill_texts: Literal["all", "rehearsal"] = Field(
        "all",
        description="the texts distilled; rehearsal: only data.rehearsal's (other rows of a batch are skipped), so "
        "with teacher self general texts keep their untuned embeddings while the domain moves",
    )
    layer_map: dict[int, int] | Literal["uniform"] | None = Field(
        None,
        description="student -> teacher layer of mean-pooled hidden states to align; uniform: each student layer "
        "to its proportional teacher layer; none: sentence embeddings only",
    )

    accepts: ClassVar = ANY_DATA
    summary: ClassVar = (
        "MSE to the teacher's sentence embeddings (and mapped mean-pooled layers: layer_map), learned projection."
    )

    def text_scope(self) -> Literal["all", "rehearsal"]:
        return self.distill_texts

    def hidden_layers(self, student_layers: int, teacher_layers: int) -> dict[int, int]:
        from embedtune.objectives.distillation import uniform_layer_map

        if self.layer_map == "uniform":
            return uniform_layer_map(student_layers, teacher_layers)
        return dict(self.layer_map or {})

    def check_in_run(self, config, task) -> None:
        if self.distill_texts != "rehearsal":
            return
        if task is not None:
            raise ValueError(f"task '{task.name}': distill_texts rehearsal is for the main loss (data.rehearsal)")
        if config.data.rehearsal is None:
            raise ValueError("loss distill_texts: rehearsal needs data.rehearsal (the general pairs to distill)")

    def build(self, model, teachers):
        from embedtune.objectives.distillation import FeatureDistillLoss
        from embedtune.objectives.teacher import transformer_config

        cache = teachers[self.teacher, self.distill_texts]
        layers = self.hidden_layers(transformer_config(model).num_hidden_layers, cache.num_layers)
        return FeatureDistillLoss(model, cache, layers, skip_unknown=self.distill_texts != "all")
