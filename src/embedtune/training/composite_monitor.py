"""Drives a composite objective's weight schedules and watches the balance of its components."""

from __future__ import annotations

import logging
from collections import deque

from transformers import TrainerCallback

from embedtune.objectives.composite import CompositeLoss, component_shares

logger = logging.getLogger("embedtune")


class CompositeMonitor(TrainerCallback):
    """Tells the loss where training is (for the schedules) and keeps per-step component shares.

    A component whose share of the total averages above ``max_share`` over the last ``window`` steps gets one
    warning (again only after it has dropped back below): one term drowning the others usually means its
    weight or scale is off, and the other objectives have stopped mattering.
    """

    def __init__(self, loss: CompositeLoss, max_share: float = 0.6, window: int = 50) -> None:
        self.loss, self.max_share = loss, max_share
        self.recent: deque[dict[str, float]] = deque(maxlen=window)
        self.since_log: list[dict[str, float]] = []
        self.dominant: set[str] = set()
        self.warnings: list[str] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.loss.set_progress(state.global_step, state.epoch or 0.0)

    def on_step_end(self, args, state, control, **kwargs):
        if not self.loss.last_weighted:
            return
        shares = component_shares(self.loss.last_weighted)
        self.loss.last_weighted = {}  # consumed: a step without a composite forward (another task's) adds nothing
        self.recent.append(shares)
        self.since_log.append(shares)
        if len(self.recent) == self.recent.maxlen:
            self._check_balance(state.global_step)

    def _check_balance(self, step: int) -> None:
        for name in self.loss.initial:
            mean = sum(shares.get(name, 0.0) for shares in self.recent) / len(self.recent)
            if mean > self.max_share and name not in self.dominant:
                self.dominant.add(name)
                message = (
                    f"step {step}: loss component '{name}' is {mean:.0%} of the total over the last "
                    f"{len(self.recent)} steps (above {self.max_share:.0%}); consider lowering its weight"
                )
                self.warnings.append(message)
                logger.warning(message)
            elif mean <= self.max_share:
                self.dominant.discard(name)

    def record_fields(self) -> dict[str, float]:
        """``<name>_raw``, ``<name>_weight`` and ``<name>_share`` for the history record being written."""
        fields: dict[str, float] = {}
        for name, value in self.loss.pop_raw_means().items():
            fields[f"{name}_raw"] = value
        for name, weight in self.loss.weights().items():
            fields[f"{name}_weight"] = weight
        if self.since_log:
            for name in self.loss.initial:
                fields[f"{name}_share"] = sum(s.get(name, 0.0) for s in self.since_log) / len(self.since_log)
        self.since_log = []
        return fields


class TaskMonitor(TrainerCallback):
    """Per-task raw loss and effective weight for the history (a task without batches since the last log is left
    out rather than logged as zero)."""

    def __init__(self, tasks: dict) -> None:
        self.tasks = tasks

    def on_step_begin(self, args, state, control, **kwargs):
        for task in self.tasks.values():
            task.step = state.global_step

    def record_fields(self) -> dict[str, float]:
        fields: dict[str, float] = {}
        for name, task in self.tasks.items():
            mean = task.pop_raw_mean()
            if mean is not None:
                fields[f"task_{name}_loss"] = mean
            fields[f"task_{name}_weight"] = task.effective_weight()
        return fields


class StepProgress(TrainerCallback):
    """Tells a loss wrapper (the NaN guard) the step, so its error can name it."""

    def __init__(self, target) -> None:
        self.target = target

    def on_step_begin(self, args, state, control, **kwargs):
        self.target.set_progress(state.global_step, state.epoch or 0.0)

    def record_fields(self) -> dict[str, float]:
        return {}
