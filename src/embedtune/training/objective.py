"""What the trainer optimises: the configured loss (or one per task), its dataset and the callbacks watching it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from embedtune.config import RunConfig
from embedtune.data.pairs import PairData
from embedtune.objectives import build_loss
from embedtune.objectives.build import uses_in_batch_negatives
from embedtune.objectives.composite import CompositeLoss
from embedtune.objectives.guard import FiniteLossGuard
from embedtune.objectives.multitask import TaskLoss
from embedtune.training.composite_monitor import CompositeMonitor, StepProgress, TaskMonitor

logger = logging.getLogger("embedtune")


@dataclass
class Objective:
    """One loss and dataset, or (multi-task) dicts of both keyed by task name."""

    loss: object
    dataset: object
    parameters: object  # every loss parameter under one module (layer control, unfreezing)
    monitors: list = field(default_factory=list)  # callbacks that also add fields to history records

    def history_fields(self) -> dict[str, float]:
        fields: dict[str, float] = {}
        for monitor in self.monitors:
            fields.update(monitor.record_fields())
        return fields

    def balance_warnings(self) -> list[str]:
        """The composite balance warnings the monitors collected (none for a single loss)."""
        return [warning for monitor in self.monitors for warning in getattr(monitor, "warnings", [])]


def build_objective(
    config: RunConfig, model, train_data: PairData, tasks: list[PairData], rehearsal_texts: list[str]
) -> Objective:
    """``tasks``: the PairData of each ``data.tasks`` entry, in order; ``rehearsal_texts``: every rehearsal-set text
    (distill_texts)."""
    from torch import nn

    main = build_loss(model, config.loss, train_data.texts(), rehearsal_texts)
    monitors = []
    if isinstance(main, CompositeLoss):
        monitors.append(CompositeMonitor(main, config.loss.balance_share, config.loss.balance_window))
    if not tasks:
        if not isinstance(main, CompositeLoss):  # composites check each component themselves
            main = FiniteLossGuard(main, config.loss.name)
            monitors.append(StepProgress(main))
        return Objective(main, train_data.to_dataset(), main, monitors)
    from datasets import DatasetDict

    uncertainty = config.training.task_weighting == "uncertainty"
    losses = {"main": TaskLoss("main", main, 1.0, uncertainty)}
    datasets = {"main": train_data.to_dataset()}
    for task, data in zip(config.data.tasks, tasks):
        task_loss = build_loss(model, task.loss, texts=data.texts())
        if isinstance(task_loss, CompositeLoss):  # its weight schedules need the step too
            monitors.append(StepProgress(task_loss))
        losses[task.name] = TaskLoss(task.name, task_loss, task.weight, uncertainty)
        datasets[task.name] = data.to_dataset()
    monitors.append(TaskMonitor(losses))
    return Objective(losses, DatasetDict(datasets), nn.ModuleDict(losses), monitors)


def no_duplicates(config: RunConfig) -> bool:
    """Batches without repeated texts: the user's choice, else whether any loss uses in-batch negatives."""
    if config.training.no_duplicates is not None:
        return config.training.no_duplicates
    return any(uses_in_batch_negatives(loss) for loss in (config.loss, *(task.loss for task in config.data.tasks)))


def warn_about_settings(config: RunConfig) -> None:
    if uses_in_batch_negatives(config.loss) and config.training.gradient_accumulation_steps > 1:
        logger.warning(
            "gradient_accumulation_steps=%d does not add in-batch negatives to %s (each anchor still sees %d); "
            "use loss.name: cached_mnrl with a larger batch_size instead",
            config.training.gradient_accumulation_steps,
            config.loss.name,
            config.training.batch_size - 1,
        )
