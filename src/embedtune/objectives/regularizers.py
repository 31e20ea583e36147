"""Regularizers on the geometry of a batch of embeddings; components of a composite objective, never alone.

Both work on l2-normalised embeddings, so they are scale-invariant: a model cannot satisfy them by growing or
shrinking its vectors, only by spreading their directions.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def _unit_rows(embeddings: list[Tensor]) -> Tensor:
    return F.normalize(torch.cat(embeddings, dim=0), dim=-1)


class IsotropyLoss(nn.Module):
    """Distance of a batch's embedding distribution from isotropy, in [0, 2).

    Inputs: any columns (the labels are ignored); every column's embeddings form one batch of directions.
    With unit rows ``u``, mean ``m`` and covariance ``C``: ``|m|^2 + |C / tr(C) - I / d|_F^2``. The first term is the
    common direction (the mean cosine between embeddings grows with it); the second is 0 for equal variance in
    every direction and 1 - 1/d when all variance lies in one. Both are bounded, so the weights sit on the scale of
    a contrastive loss. A batch of n < d rows spans at most n - 1 directions, which puts a floor of about
    1/(n-1) - 1/d under the second term (0.013 for 64 rows of 384 dims) that depends only on n and d.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, sentence_features, labels: Tensor | None = None) -> Tensor:
        from sentence_transformers.base.losses.merged_forward import embed_columns

        return self.compute_loss_from_embeddings(embed_columns(self.model, sentence_features), labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None = None) -> Tensor:
        units = _unit_rows(embeddings)
        mean = units.mean(dim=0)
        centred = units - mean
        covariance = centred.T @ centred / units.shape[0]
        dim = units.shape[1]
        spread = covariance / covariance.trace().clamp_min(1e-12)
        eye = torch.eye(dim, device=units.device, dtype=units.dtype)
        return mean.pow(2).sum() + (spread - eye / dim).pow(2).sum()


class VarianceLoss(nn.Module):
    """Hinge on the per-dimension standard deviation of unit embeddings (the variance term of VICReg).

    Inputs: any columns (labels ignored). ``mean_j relu(target_std - std_j)``: zero once every dimension varies
    at least ``target_std`` across the batch, so it only acts against collapse. Isotropic unit vectors in d
    dimensions have std ~ 1/sqrt(d) per dimension (0.051 for 384).
    """

    def __init__(self, model: nn.Module, target_std: float = 0.05) -> None:
        super().__init__()
        self.model = model
        self.target_std = target_std

    def forward(self, sentence_features, labels: Tensor | None = None) -> Tensor:
        from sentence_transformers.base.losses.merged_forward import embed_columns

        return self.compute_loss_from_embeddings(embed_columns(self.model, sentence_features), labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None = None) -> Tensor:
        std = _unit_rows(embeddings).std(dim=0)
        return F.relu(self.target_std - std).mean()
