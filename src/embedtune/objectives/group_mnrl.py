"""MultipleNegativesRanking without same-group in-batch negatives (for pairs mined from categorised documents)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NO_GROUP = -1


class GroupMaskedMNRLoss(nn.Module):
    """MNRL where an anchor never treats a text of its own group (e.g. its category) as a negative.

    Inputs: ``(anchor, positive)`` or ``(anchor, positive, negative)`` texts, and as label the integer group id of the
    row (``-1``: no group, its rows are masked for nobody). Plain MNRL scores each anchor against every positive of
    the batch; with pairs built from categories, a batch of 32 over 8 categories holds about three other positives of
    the anchor's own category, and MNRL would push those apart: false negatives that pull against the very grouping
    the pairs teach. Here those logits are dropped from the softmax. Explicit negatives (third column) stay negatives
    for every anchor: mining takes them from other categories, and their own group is not known.
    """

    def __init__(self, model, scale: float = 20.0) -> None:
        super().__init__()
        self.model = model
        self.scale = scale

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        embeddings = [self.model(features)["sentence_embedding"] for features in sentence_features]
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        anchors = F.normalize(embeddings[0], dim=-1)
        candidates = F.normalize(torch.cat(embeddings[1:]), dim=-1)
        scores = anchors @ candidates.T * self.scale
        groups = labels.to(anchors.device).long()
        batch = len(groups)
        same_group = (groups[:, None] == groups[None, :]) & (groups[:, None] != NO_GROUP)
        same_group.fill_diagonal_(False)  # the row's own positive is the target
        mask = torch.zeros_like(scores, dtype=torch.bool)
        mask[:, :batch] = same_group
        scores = scores.masked_fill(mask, float("-inf"))
        return F.cross_entropy(scores, torch.arange(batch, device=scores.device))

    def get_config_dict(self) -> dict[str, float]:
        return {"scale": self.scale}
