"""A weighted sum of named losses sharing one forward pass, with scheduled weights and per-component logs."""

from __future__ import annotations

import math

from torch import Tensor, nn

from embedtune.config import WeightSchedule
from embedtune.errors import NonFiniteLossError
from embedtune.objectives.schedule import weight_at


class CompositeLoss(nn.Module):
    """``sum_k w_k(t) * L_k`` over named component losses, computed from one encoding of the batch.

    Inputs: the columns (and labels) every component accepts, e.g. (sentence1, sentence2, score) for cosine +
    isotropy. Each component offers ``compute_loss_from_embeddings(embeddings, labels)`` or, when it needs the
    token ids or hidden states as well (distillation), ``compute_loss_from_forward(features, embeddings, labels)``.
    ``forward`` returns ``{name: weight * loss}``: sentence-transformers sums it into the loss it optimises and
    logs every entry.
    The raw (unweighted) values are kept until :meth:`pop_raw_means` so the history can show them too.
    A NaN or infinite component raises :class:`NonFiniteLossError` naming it before the optimizer step.
    """

    def __init__(
        self,
        model: nn.Module,
        components: dict[str, nn.Module],
        weights: dict[str, float],
        schedules: dict[str, WeightSchedule] | None = None,
    ) -> None:
        super().__init__()
        self.model = model  # registered first, so parameter names stay model.* as in single losses
        self.components = nn.ModuleDict(components)
        self.initial = dict(weights)
        self.schedules = {name: (schedules or {}).get(name, WeightSchedule()) for name in components}
        self.step, self.epoch = 0, 0.0
        self._raw_sums: dict[str, float] = {}
        self._raw_counts: dict[str, int] = {}
        self.last_weighted: dict[str, float] = {}  # the latest training forward's w_k * L_k, for the balance monitor

    def set_progress(self, step: int, epoch: float) -> None:
        self.step, self.epoch = step, epoch

    def weights(self) -> dict[str, float]:
        step, epoch = self.step, self.epoch
        return {name: weight_at(w, self.schedules[name], step, epoch) for name, w in self.initial.items()}

    def forward(self, sentence_features, labels: Tensor | None = None) -> dict[str, Tensor]:
        sentence_features = list(sentence_features)
        embeddings = self._embed(sentence_features)
        weights = self.weights()
        out: dict[str, Tensor] = {}
        for name, component in self.components.items():
            if hasattr(component, "compute_loss_from_forward"):  # needs token ids or hidden states too
                raw = component.compute_loss_from_forward(sentence_features, embeddings, labels)
            else:
                raw = component.compute_loss_from_embeddings(embeddings, labels)
            value = float(raw.detach())
            if not math.isfinite(value):
                raise NonFiniteLossError(f"loss component '{name}'", self.step, value)
            if self.model.training:
                self._raw_sums[name] = self._raw_sums.get(name, 0.0) + value
                self._raw_counts[name] = self._raw_counts.get(name, 0) + 1
                self.last_weighted[name] = weights[name] * value
            out[name] = weights[name] * raw
        return out

    def _embed(self, sentence_features: list[dict]) -> list[Tensor]:
        from sentence_transformers.base.losses.merged_forward import embed_columns

        from embedtune.objectives.teacher import hidden_states_enabled, maybe_attentions_captured

        parts = self.components.values()
        hidden = any(getattr(component, "needs_hidden_states", False) for component in parts)
        attending = any(getattr(component, "needs_attentions", False) for component in parts)
        if not hidden and not attending:
            return embed_columns(self.model, sentence_features)
        # one forward per column, so each column's dict gets its own hidden states and attentions
        embeddings = []
        with hidden_states_enabled(self.model), maybe_attentions_captured(self.model, attending) as captured:
            for features in sentence_features:
                embeddings.append(self.model(features)["sentence_embedding"])
                features["attentions"] = captured.pop() if attending else None
        return embeddings

    def pop_raw_means(self) -> dict[str, float]:
        """Mean raw value of each component over the training forwards since the last call."""
        means = {name: self._raw_sums[name] / self._raw_counts[name] for name in self._raw_sums}
        self._raw_sums, self._raw_counts = {}, {}
        return means


def component_shares(weighted: dict[str, float]) -> dict[str, float]:
    """Each component's share of the total magnitude ``|w_k L_k| / sum_j |w_j L_j|`` (0 when all are 0)."""
    total = sum(abs(value) for value in weighted.values())
    return {name: (abs(value) / total if total > 0 else 0.0) for name, value in weighted.items()}
