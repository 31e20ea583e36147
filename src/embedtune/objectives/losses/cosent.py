"""cosent: sentence-transformers' CoSENTLoss."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import LOSSES, MatryoshkaLossConfig


@LOSSES.register
class CoSENTLossConfig(MatryoshkaLossConfig):
    """Inputs: (sentence1, sentence2, score); only the order of the scores matters."""

    name: Literal["cosent"] = "cosent"
    scale: float = Field(20.0, gt=0, description="similarity scale (inverse temperature)")

    accepts: ClassVar = ("scored",)
    summary: ClassVar = "CoSENT: ranks pair cosines in the order of their scores; usually stronger than cosine."

    def build(self, model, teachers):
        from sentence_transformers.sentence_transformer.losses import CoSENTLoss

        return CoSENTLoss(model, scale=self.scale)
