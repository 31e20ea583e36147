"""The evaluator contract that makes confidence intervals possible.

An :class:`ItemEvaluator` splits evaluation in two:

- ``item_scores(model) -> dict[str, np.ndarray]``: everything the metrics need, one entry per *item* (a pair, a
  query, a document), e.g. ``{"cosine": ..., "label": ...}``. This is the only step that runs the model.
- ``resampled_metrics(items) -> dict[str, np.ndarray]``: the metrics from arrays with a leading resample axis
  (``items[k].shape == (B, n_items, ...)``), one value per resample (shape ``(B,)``), vectorised.

``__call__`` is ``resampled_metrics`` on the identity resample, so the point estimate and its bootstrap interval
come from the same code. A paired bootstrap feeds the *same* resampled indices to the baseline's and the tuned
model's items.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sentence_transformers.base.evaluation import BaseEvaluator


class ItemEvaluator(BaseEvaluator):
    """Base for evaluators whose metrics are statistics over items. Keys are prefixed with ``self.name``."""

    name: str = ""
    #: False for metrics that are not a statistic over independent items (e.g. isotropy of a whole embedding set).
    bootstrappable: bool = True

    def item_scores(self, model: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def resampled_metrics(self, items: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def metrics_from_items(self, items: dict[str, np.ndarray]) -> dict[str, float]:
        """Unprefixed point estimates from one model's items."""
        batched = self.resampled_metrics({key: value[None, ...] for key, value in items.items()})
        return {key: float(value[0]) for key, value in batched.items()}

    def __call__(self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict:
        metrics = self.prefix_name_to_metrics(self.metrics_from_items(self.item_scores(model)), self.name)
        if hasattr(model, "model_card_data"):
            self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics


class PairItemEvaluator(ItemEvaluator):
    """An item evaluator over (text1, text2) pairs: subclasses set ``texts1``, ``texts2`` and ``batch_size``."""

    texts1: list[str]
    texts2: list[str]
    batch_size: int = 64

    def cosines(self, model: Any) -> np.ndarray:
        """Cosine similarity of every pair, in input order (each distinct text encoded once)."""
        from embedtune.evaluation.embed import encode_pair_cosines

        return encode_pair_cosines(model, [(self.texts1, self.texts2)], self.batch_size)[0]

    @staticmethod
    def require_labels(data: Any, what: str) -> None:
        """A one-line UserError naming the file when a pair set has no labels, e.g. what='a score'."""
        if data is not None and data.labels is None:
            from embedtune.errors import UserError

            raise UserError(f"{data.source}: {what} for every pair, but it has none")
