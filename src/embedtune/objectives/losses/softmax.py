"""softmax: SBERT's NLI classifier objective (embedtune.objectives.nli)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import LOSSES, LossConfig
from embedtune.errors import ConfigError

if TYPE_CHECKING:
    from embedtune.data.pairs import PairData


@LOSSES.register
class SoftmaxLossConfig(LossConfig):  # its classifier reads full-size embeddings: no Matryoshka
    """Inputs: (premise, hypothesis, class) with data.train.label_classes naming the classes."""

    name: Literal["softmax"] = "softmax"
    num_labels: int = Field(3, ge=2, description="number of classes (NLI: 3)")

    accepts: ClassVar = ("classes",)
    summary: ClassVar = "NLI classifier on (u, v, |u-v|) (SoftmaxLoss); labels are classes (data.train.label_classes)."

    def prepare_data(self, data: PairData) -> PairData:
        if data.num_classes != self.num_labels:
            raise ConfigError(
                f"loss softmax has num_labels {self.num_labels} but {data.source} has {data.num_classes} label_classes"
            )
        return data

    def build(self, model, teachers):
        from embedtune.objectives.nli import NLISoftmaxLoss

        return NLISoftmaxLoss(model, model.get_embedding_dimension(), num_labels=self.num_labels)
