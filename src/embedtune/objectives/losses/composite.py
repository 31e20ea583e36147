"""composite: a weighted sum of named losses sharing one forward pass (embedtune.objectives.composite)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from embedtune.config.methods import LOSSES, LossConfig, LossField, MatryoshkaLossConfig
from embedtune.config.sections import WeightSchedule
from embedtune.data.spec import StrictModel
from embedtune.errors import ConfigError
from embedtune.objectives.losses.isotropy import ANY_DATA


class ComponentConfig(StrictModel):
    """One named part of a composite objective: a loss, its weight and how the weight changes."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="lowercase name used in history.jsonl and the report")
    loss: LossField = Field(description="the component's loss (any loss but composite, cached_mnrl, matryoshka)")
    weight: float = Field(1.0, ge=0, description="initial weight")
    schedule: WeightSchedule = Field(default_factory=WeightSchedule, description="how the weight changes")

    @field_validator("name")
    @classmethod
    def _not_a_history_field(cls, name: str) -> str:
        # sentence-transformers logs each component under its name: 'loss' or 'step' overwrote the record's own
        from embedtune.training.history import RECORD_FIELDS

        if name in RECORD_FIELDS or name.startswith(("train_", "task_")):
            raise ValueError(f"'{name}' is a field of history.jsonl records; name the component otherwise")
        return name


@LOSSES.register
class CompositeLossConfig(LossConfig):
    """Inputs: the columns (and labels) every component accepts, e.g. (sentence1, sentence2, score) for cosine +
    isotropy. The weights (and their schedules) are per component; the total is the weighted sum."""

    name: Literal["composite"] = "composite"
    components: list[ComponentConfig] = Field(description="the weighted parts; the total is the weighted sum")
    balance_share: float = Field(
        0.6, gt=0, le=1, description="warn when one component exceeds this share of the total"
    )
    balance_window: int = Field(50, ge=1, description="optimizer steps the share is averaged over")

    accepts: ClassVar = ANY_DATA
    can_be_component: ClassVar = False
    summary: ClassVar = (
        "Weighted sum of named components (loss.components), weights constant / step / linear over training."
    )

    @model_validator(mode="after")
    def _check_components(self) -> CompositeLossConfig:
        if not self.components:
            raise ValueError("a composite loss needs at least one component")
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique, got {names}")
        for component in self.components:
            loss = component.loss
            if not loss.can_be_component or (isinstance(loss, MatryoshkaLossConfig) and loss.matryoshka_dims):
                raise ValueError(
                    f"component '{component.name}': {loss.name} cannot be a component "
                    "(components share one forward pass; composite, cached_mnrl and matryoshka run their own)"
                )
        return self

    def leaves(self) -> list[LossConfig]:
        return [component.loss for component in self.components]

    def build(self, model, teachers):
        from embedtune.objectives.composite import CompositeLoss

        parts = {c.name: c.loss.build(model, teachers) for c in self.components}
        for name, part in parts.items():
            if not hasattr(part, "compute_loss_from_embeddings") and not hasattr(part, "compute_loss_from_forward"):
                raise ConfigError(f"loss component '{name}': {type(part).__name__} cannot share a forward pass")
        weights = {c.name: c.weight for c in self.components}
        return CompositeLoss(model, parts, weights, {c.name: c.schedule for c in self.components})
