"""cached_mnrl: sentence-transformers' CachedMultipleNegativesRankingLoss (GradCache)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import LOSSES, MatryoshkaLossConfig


@LOSSES.register
class CachedMNRLLossConfig(MatryoshkaLossConfig):
    """Inputs: as mnrl. Results equal mnrl's at the same batch size; memory follows mini_batch_size."""

    name: Literal["cached_mnrl"] = "cached_mnrl"
    scale: float = Field(20.0, gt=0, description="similarity scale (inverse temperature)")
    mini_batch_size: int = Field(32, ge=1, description="texts per forward pass (memory, not results)")

    accepts: ClassVar = ("pairs", "triplets", "binary")
    in_batch_negatives: ClassVar = True
    can_be_component: ClassVar = False
    summary: ClassVar = "MNRL with GradCache: large batches in small memory, computed mini_batch_size texts at a time."

    def build(self, model, teachers):
        from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss

        from embedtune.distributed import world_size

        return CachedMultipleNegativesRankingLoss(
            model,
            scale=self.scale,
            mini_batch_size=self.mini_batch_size,
            show_progress_bar=False,
            gather_across_devices=world_size() > 1,  # all ranks' candidates, as one big batch
        )
