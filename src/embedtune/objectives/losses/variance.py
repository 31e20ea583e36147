"""variance: a hinge on collapsing embedding dimensions (embedtune.objectives.regularizers.VarianceLoss)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import LOSSES, LossConfig
from embedtune.objectives.losses.isotropy import ANY_DATA


@LOSSES.register
class VarianceLossConfig(LossConfig):
    """A composite component only: it shapes the distribution and has no notion of which texts are similar."""

    name: Literal["variance"] = "variance"
    target_std: float = Field(
        0.05, gt=0, description="per-dimension std of unit embeddings below which the hinge acts"
    )

    accepts: ClassVar = ANY_DATA
    standalone: ClassVar = False
    summary: ClassVar = (
        "Regularizer (composite only): hinge on the per-dimension std of unit embeddings below target_std."
    )

    def build(self, model, teachers):
        from embedtune.objectives.regularizers import VarianceLoss

        return VarianceLoss(model, target_std=self.target_std)
