"""contrastive: sentence-transformers' ContrastiveLoss."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import LOSSES, MatryoshkaLossConfig


@LOSSES.register
class ContrastiveLossConfig(MatryoshkaLossConfig):
    """Inputs: (sentence1, sentence2, label) with 0/1 labels."""

    name: Literal["contrastive"] = "contrastive"
    margin: float = Field(0.5, ge=0, description="distance beyond which negative pairs cost nothing")

    accepts: ClassVar = ("binary",)
    summary: ClassVar = (
        "Contrastive with margin on 0/1 labelled pairs: pull positives together, push negatives beyond the margin."
    )

    def build(self, model, teachers):
        from sentence_transformers.sentence_transformer.losses import ContrastiveLoss

        return ContrastiveLoss(model, margin=self.margin)
