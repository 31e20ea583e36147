"""Evaluators that SentenceTransformerTrainer can run, the metric maths behind them, and bootstrap statistics.

Every evaluator returns a flat ``dict[str, float]`` with keys prefixed by its name. Item-based evaluators
(:class:`~embedtune.evaluation.base.ItemEvaluator`) also expose per-item scores, which the paired bootstrap
resamples to give confidence intervals of baseline, final and their difference.
"""

from __future__ import annotations

from embedtune.evaluation.adversarial import AdversarialEvaluator
from embedtune.evaluation.base import ItemEvaluator
from embedtune.evaluation.bootstrap import bootstrap_intervals, paired_bootstrap, resample_indices
from embedtune.evaluation.embed import encode_unique
from embedtune.evaluation.isotropy import IsotropyEvaluator
from embedtune.evaluation.knn import KNNEvaluator
from embedtune.evaluation.matryoshka import MatryoshkaEvaluator
from embedtune.evaluation.pair_classification import PairClassificationEvaluator
from embedtune.evaluation.retrieval import RetrievalEvaluator
from embedtune.evaluation.separability import SeparabilityEvaluator
from embedtune.evaluation.sts import STSEvaluator

__all__ = [
    "AdversarialEvaluator",
    "IsotropyEvaluator",
    "ItemEvaluator",
    "KNNEvaluator",
    "MatryoshkaEvaluator",
    "PairClassificationEvaluator",
    "RetrievalEvaluator",
    "STSEvaluator",
    "SeparabilityEvaluator",
    "bootstrap_intervals",
    "encode_unique",
    "paired_bootstrap",
    "resample_indices",
]
