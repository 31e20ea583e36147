"""isotropy: a regularizer of the embedding distribution (embedtune.objectives.regularizers.IsotropyLoss)."""

from __future__ import annotations

from typing import ClassVar, Literal

from embedtune.config.methods import LOSSES, LossConfig

#: Regularizers read only the embeddings, so any training data does.
ANY_DATA = ("pairs", "triplets", "scored", "binary", "classes")


@LOSSES.register
class IsotropyLossConfig(LossConfig):
    """A composite component only: it shapes the distribution and has no notion of which texts are similar."""

    name: Literal["isotropy"] = "isotropy"

    accepts: ClassVar = ANY_DATA
    standalone: ClassVar = False
    summary: ClassVar = (
        "Regularizer (composite only): |mean|^2 + |C/tr C - I/d|^2 of unit embeddings, in [0, 2); 0 when isotropic."
    )

    def build(self, model, teachers):
        from embedtune.objectives.regularizers import IsotropyLoss

        return IsotropyLoss(model)
