"""cosine: sentence-transformers' CosineSimilarityLoss."""

from __future__ import annotations

from typing import ClassVar, Literal

from embedtune.config.methods import LOSSES, MatryoshkaLossConfig


@LOSSES.register
class CosineLossConfig(MatryoshkaLossConfig):
    """Inputs: (sentence1, sentence2, score); the score is normalised to [0, 1] by data.train.score_range."""

    name: Literal["cosine"] = "cosine"

    accepts: ClassVar = ("scored",)
    summary: ClassVar = "MSE between the pair cosine and the score normalised to [0, 1] (CosineSimilarityLoss)."

    def build(self, model, teachers):
        from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

        return CosineSimilarityLoss(model)
