"""mnrl: sentence-transformers' MultipleNegativesRankingLoss."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import LOSSES, MatryoshkaLossConfig


@LOSSES.register
class MNRLLossConfig(MatryoshkaLossConfig):
    """Inputs: (anchor, positive[, negative]); binary data keeps its label-1 rows."""

    name: Literal["mnrl"] = "mnrl"
    scale: float = Field(20.0, gt=0, description="similarity scale (inverse temperature)")

    accepts: ClassVar = ("pairs", "triplets", "binary")
    in_batch_negatives: ClassVar = True
    summary: ClassVar = (
        "MultipleNegativesRanking: (anchor, positive[, negative]); other in-batch positives are negatives. "
        "Binary data keeps its label-1 rows."
    )

    def build(self, model, teachers):
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

        from embedtune.distributed import world_size

        # Several processes: every rank scores its anchors against all ranks' candidates, as one big batch would.
        return MultipleNegativesRankingLoss(model, scale=self.scale, gather_across_devices=world_size() > 1)
