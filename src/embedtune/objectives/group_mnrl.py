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

    def __init__(self, model, scale: float = 20.0, gather_across_devices: bool = False) -> None:
        super().__init__()
        self.model = model
        self.scale = scale
        self.gather_across_devices = gather_across_devices  # several processes: all ranks' candidates and groups

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        embeddings = [self.model(features)["sentence_embedding"] for features in sentence_features]
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        anchors = F.normalize(embeddings[0], dim=-1)
        groups = labels.to(anchors.device).long()
        columns, all_groups, offset = embeddings[1:], groups, 0
        if self.gather_across_devices:  # as sentence-transformers' MNRL: local anchors, every rank's candidates
            from sentence_transformers.util.distributed import all_gather, all_gather_with_grad, get_rank

            columns = [all_gather_with_grad(column) for column in columns]
            all_groups, offset = all_gather(groups), get_rank() * len(groups)
        candidates = F.normalize(torch.cat(columns), dim=-1)
        scores = anchors @ candidates.T * self.scale
        batch, targets = len(groups), torch.arange(offset, offset + len(groups), device=anchors.device)
        same_group = (groups[:, None] == all_groups[None, :]) & (groups[:, None] != NO_GROUP)
        same_group[torch.arange(batch, device=anchors.device), targets] = False  # the row's own positive is the target
        mask = torch.zeros_like(scores, dtype=torch.bool)
        mask[:, : len(all_groups)] = same_group
        scores = scores.masked_fill(mask, float("-inf"))
        return F.cross_entropy(scores, targets)

    def get_config_dict(self) -> dict[str, float]:
        return {"scale": self.scale, "gather_across_devices": self.gather_across_devices}
