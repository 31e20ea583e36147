"""Isotropy: do the embeddings use the whole space, or crowd into a narrow cone?

Fine-tuning with contrastive losses tends to spread embeddings out; collapse (everything similar to everything) is
the failure these numbers catch. They describe one embedding set as a whole, so they are not a mean over independent
items and get no bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from embedtune.errors import UserError
from embedtune.evaluation.base import ItemEvaluator
from embedtune.evaluation.embed import encode_unique


class IsotropyEvaluator(ItemEvaluator):
    """``mean_cosine``, ``std_per_dim``, ``isotropy`` and ``effective_rank`` of the distinct texts' unit embeddings.

    Primary ``isotropy`` (greater is better). Repeated texts are embedded once and counted once, since repeats would
    pull ``mean_cosine`` towards 1 without saying anything about the geometry.
    """

    bootstrappable = False

    def __init__(self, texts: Sequence[str], name: str = "isotropy", batch_size: int = 64, source: str | None = None):
        super().__init__()
        self.texts = list(dict.fromkeys(texts))
        if len(self.texts) < 2:
            raise UserError(f"{source or name}: isotropy needs at least 2 distinct texts, got {len(self.texts)}")
        self.name, self.batch_size = name, batch_size
        self.greater_is_better = True
        self.primary_metric = f"{name}_isotropy" if name else "isotropy"

    def embeddings(self, model: Any) -> np.ndarray:
        return encode_unique(model, self.texts, self.batch_size)

    def item_scores(self, model: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError("isotropy describes a whole embedding set and has no per-item scores; call it")

    def __call__(self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict:
        metrics = self.prefix_name_to_metrics(isotropy_metrics(self.embeddings(model)), self.name)
        if hasattr(model, "model_card_data"):
            self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    def get_config_dict(self) -> dict[str, Any]:
        return {"texts": len(self.texts)}


UNIT_FLOOR = float(np.exp(-2.0))


def isotropy_metrics(embeddings: np.ndarray) -> dict[str, float]:
    """All four numbers for ``n >= 2`` unit vectors (rows of ``embeddings``)."""
    w = np.asarray(embeddings, dtype=np.float64)
    isotropy = partition_isotropy(w)
    return {
        "mean_cosine": mean_pairwise_cosine(w),
        "std_per_dim": float(w.std(axis=0).mean()),
        "isotropy": isotropy,
        # I(W) mapped from its unit-vector range [e^-2, 1] onto [0, 1]: total collapse 0, isotropic 1.
        "isotropy_rescaled": float((isotropy - UNIT_FLOOR) / (1 - UNIT_FLOOR)),
        "effective_rank": effective_rank(w),
    }


def mean_pairwise_cosine(w: np.ndarray) -> float:
    """Mean cosine over ordered pairs i != j of unit vectors, in O(n d): sum_ij w_i.w_j = |sum_i w_i|^2."""
    n = len(w)
    total = w.sum(axis=0)
    return float((total @ total - n) / (n * (n - 1)))


def partition_isotropy(w: np.ndarray) -> float:
    """I(W) = min_c Z(c) / max_c Z(c), Z(c) = sum_i exp(c . w_i) (Mu & Viswanath, "All-but-the-top", ICLR 2018).

    As in the paper, c ranges over the eigenvectors of W^T W of the raw (not mean-centred) embeddings, here with
    both signs: an eigenvector's sign is arbitrary, and without -c the score would depend on the solver. 1 means
    isotropic. For unit vectors c . w_i lies in [-1, 1], so I(W) >= exp(-2) ~ 0.135 (total collapse), not 0.
    """
    _, vectors = np.linalg.eigh(w.T @ w)
    projections = w @ vectors  # (n, d): c . w_i for every eigenvector c
    # log Z(c) via log-sum-exp, for both signs of c.
    log_z = np.concatenate([log_sum_exp(projections), log_sum_exp(-projections)])
    return float(np.exp(log_z.min() - log_z.max()))


def log_sum_exp(x: np.ndarray) -> np.ndarray:
    """Column-wise log(sum(exp(x))) without overflow."""
    top = x.max(axis=0)
    return top + np.log(np.exp(x - top).sum(axis=0))


def effective_rank(w: np.ndarray) -> float:
    """exp(entropy of the singular values normalised to sum 1) (Roy & Vetterli, 2007): between 1 and min(n, d).

    Taken on the raw embeddings like I(W), so a set collapsed onto one direction scores ~1 even if the small noise
    around that direction is isotropic.
    """
    singular = np.linalg.svd(w, compute_uv=False)
    p = singular / singular.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))
