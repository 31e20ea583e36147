"""NLI as a training objective: a softmax classifier over (u, v, |u - v|) of the two sentence embeddings."""

from __future__ import annotations

import torch
from sentence_transformers.sentence_transformer.losses import SoftmaxLoss
from torch import Tensor


class NLISoftmaxLoss(SoftmaxLoss):
    """sentence-transformers' SoftmaxLoss (SBERT's NLI objective), usable as a composite component.

    Inputs: (premise, hypothesis, class index), e.g. SICK with ``label_classes: [contradiction, entailment,
    neutral]``. The classifier is trained with the model and discarded at save time, as in SBERT.
    """

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        first, second = embeddings[0], embeddings[1]
        features = torch.cat([first, second, torch.abs(first - second)], dim=1).to(self.classifier.weight.dtype)
        return self.loss_fct(self.classifier(features), labels.view(-1).long())
