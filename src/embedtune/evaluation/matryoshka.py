"""Matryoshka: the same evaluation at several embedding sizes (first d dimensions, re-normalised).

A Matryoshka-trained model should lose little when its embeddings are cut short; the dimension curve shows how
little. The model is run once per evaluation at full size; every size is cut from that one set of embeddings by a
stand-in model (:class:`~embedtune.evaluation.embed.TruncatedEncoder`), so inner evaluators run unchanged.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from embedtune.errors import UserError
from embedtune.evaluation.base import ItemEvaluator
from embedtune.evaluation.embed import EmbeddingCache

MakeEvaluator = Callable[[int, str], ItemEvaluator]


class MatryoshkaEvaluator(ItemEvaluator):
    """Runs ``make_evaluator(dim, name)`` at every size in ``dims``; keys ``{name}_{dim}_{metric}``.

    Each inner evaluator is built with the name ``{name}_{dim}``, so its own keys are exactly the ones reported.
    Item keys are ``{dim}_{item key}``. Primary metric: the inner primary metric at the largest size. Bootstrappable
    when every inner evaluator is; otherwise ``__call__`` runs the inner ``__call__`` per size.
    """

    def __init__(
        self, make_evaluator: MakeEvaluator, dims: Sequence[int], name: str = "matryoshka", batch_size: int = 64
    ) -> None:
        super().__init__()
        if not dims or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1 for d in dims):
            raise UserError(f"{name}: Matryoshka dims must be a non-empty list of positive integers, got {list(dims)}")
        self.dims = sorted({int(d) for d in dims})
        self.name, self.batch_size = name, batch_size
        self.inner = {dim: make_evaluator(dim, self.inner_name(dim)) for dim in self.dims}
        self.bootstrappable = all(evaluator.bootstrappable for evaluator in self.inner.values())
        largest = self.inner[self.dims[-1]]
        self.greater_is_better = largest.greater_is_better
        self.inner_primary = strip_prefix(largest.primary_metric, largest.name)
        self.primary_metric = f"{self.inner_name(self.dims[-1])}_{self.inner_primary}"

    @property
    def texts1(self) -> list[str] | None:
        """The pairs' first texts (every size has the same pairs): compare's cluster bootstrap groups by them."""
        return getattr(self.inner[self.dims[-1]], "texts1", None)

    @classmethod
    def wrapping(
        cls, evaluator_class: type[ItemEvaluator], dims: Sequence[int], name: str = "matryoshka", **kwargs: Any
    ) -> MatryoshkaEvaluator:
        """``evaluator_class(**kwargs, name=...)`` at every size; ``batch_size`` goes to the full-size encoding."""
        batch_size = kwargs.get("batch_size", 64)
        return cls(lambda dim, inner_name: evaluator_class(**kwargs, name=inner_name), dims, name, batch_size)

    def inner_name(self, dim: int) -> str:
        return f"{self.name}_{dim}" if self.name else str(dim)

    def encoders(self, model: Any) -> dict[int, Any]:
        """One truncating stand-in per size, sharing a cache that is fresh for this call (the model may have moved)."""
        cache = EmbeddingCache(model, self.batch_size)
        return {dim: cache.truncated(dim) for dim in self.dims}

    def item_scores(self, model: Any) -> dict[str, np.ndarray]:
        if not self.bootstrappable:
            raise NotImplementedError(f"{self.name}: an inner evaluator has no per-item scores; call the evaluator")
        items: dict[str, np.ndarray] = {}
        for dim, encoder in self.encoders(model).items():
            items.update({f"{dim}_{key}": value for key, value in self.inner[dim].item_scores(encoder).items()})
        return items

    def resampled_metrics(self, items: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        metrics: dict[str, np.ndarray] = {}
        for dim, evaluator in self.inner.items():
            prefix = f"{dim}_"
            own = {key[len(prefix) :]: value for key, value in items.items() if key.startswith(prefix)}
            metrics.update({f"{dim}_{key}": value for key, value in evaluator.resampled_metrics(own).items()})
        return metrics

    def __call__(self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict:
        if self.bootstrappable:
            return super().__call__(model, output_path, epoch, steps)
        metrics: dict[str, float] = {}
        for dim, encoder in self.encoders(model).items():
            metrics.update(self.inner[dim](encoder))  # inner keys already read {name}_{dim}_{metric}
        if hasattr(model, "model_card_data"):
            self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    def dimension_curve(self, metrics: dict[str, float], metric: str | None = None) -> list[tuple[int, float]]:
        """``(dim, value)`` of one inner metric (default: the primary) at every size present in ``metrics``."""
        metric = metric or self.inner_primary
        curve = []
        for dim in self.dims:
            key = f"{self.inner_name(dim)}_{metric}"
            if key in metrics:
                curve.append((dim, float(metrics[key])))
        return curve

    def get_config_dict(self) -> dict[str, Any]:
        largest = self.inner[self.dims[-1]]
        return {"dims": self.dims, "evaluator": type(largest).__name__, **largest.get_config_dict()}


def strip_prefix(key: str, name: str) -> str:
    return key[len(name) + 1 :] if name and key.startswith(f"{name}_") else key
