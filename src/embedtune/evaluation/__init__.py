"""Evaluators that SentenceTransformerTrainer can run, the metric maths behind them, and bootstrap statistics.

Every evaluator returns a flat ``dict[str, float]`` with keys prefixed by its name. Item-based evaluators
(:class:`~embedtune.evaluation.base.ItemEvaluator`) also expose per-item scores, which the paired bootstrap
resamples to give confidence intervals of baseline, final and their difference.
"""

from __future__ import annotations

from importlib import import_module

#: Imported on first use: the eval-task configs of ``evaluation.tasks`` load with the run config, without torch.
_HOMES = {
    "AdversarialEvaluator": "adversarial",
    "IsotropyEvaluator": "isotropy",
    "ItemEvaluator": "base",
    "KNNEvaluator": "knn",
    "MatryoshkaEvaluator": "matryoshka",
    "PairClassificationEvaluator": "pair_classification",
    "RetrievalEvaluator": "retrieval",
    "STSEvaluator": "sts",
    "SeparabilityEvaluator": "separability",
    "bootstrap_intervals": "bootstrap",
    "encode_unique": "embed",
    "paired_bootstrap": "bootstrap",
    "resample_indices": "bootstrap",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)


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
