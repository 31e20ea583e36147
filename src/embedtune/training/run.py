"""One training run in place: strategy, objective, optimiser lr groups, curriculum and callbacks, then the trainer.

Writes only under the run dir: checkpoints/ and history.jsonl (a resumed run keeps the records up to its checkpoint).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from embedtune.config import RunConfig
from embedtune.distributed import is_main, loss_parameter_sync, world_size
from embedtune.modeling.layers import LOG_VARIANCE_PATTERN, ProgressiveUnfreezing, layerwise_lr_mapping
from embedtune.modeling.strategies import apply_strategy
from embedtune.rundir import write_text_atomic
from embedtune.training.arguments import training_arguments
from embedtune.training.curriculum import (
    CurriculumEpochs,
    CurriculumPlan,
    curriculum_trainer_class,
    optimizer_steps_per_phase,
    phase_lookup,
    restart_multipliers,
    row_texts,
    sampler_factory,
)
from embedtune.training.history import HistoryCallback, SkipFinalEvaluation, StepCounter, read_history
from embedtune.training.objective import build_objective, no_duplicates
from embedtune.training.tracking import HeldTracker, hold_trackers

if TYPE_CHECKING:
    from embedtune.run_inputs import RunInputs

logger = logging.getLogger("embedtune")


@dataclass
class TrainOutcome:
    balance_warnings: list[str]  # composite terms out of balance (none for a single loss)
    trackers: list[HeldTracker] = field(default_factory=list)  # finish() them with the final metrics


def train(
    config: RunConfig,
    model,
    inputs: RunInputs,
    best_metric: str | None,
    output_dir: Path,
    checkpoint: Path | None,
    progress: StepCounter,
    extra_callbacks: list = (),
) -> TrainOutcome:
    """Train ``model`` in place; returns the composite balance warnings (none for a single loss) and the experiment
    trackers, still open for the final metrics.

    ``best_metric`` is the evaluator key model selection and early stopping use (None: nothing is selected on);
    ``checkpoint``: resume from it (chosen by rank 0, before any write). ``progress`` is told each step, so an
    interrupted run can say where it got to. ``extra_callbacks`` join the run's own.
    """
    from transformers import EarlyStoppingCallback

    from embedtune.training.trainer import Trainer

    settings = config.training
    lr_mapping = apply_strategy(model, config.strategy, settings.lr)
    objective = build_objective(config, _loss_model(config, model), inputs.train, inputs.tasks, inputs.rehearsal_texts)
    lr_mapping = _with_layer_control(config, objective.parameters, lr_mapping)
    checkpoints = output_dir / "checkpoints"
    device = model.device.type  # where pipeline loaded it: the resolved training.device
    args = training_arguments(settings, checkpoints, best_metric, no_duplicates(config), lr_mapping, device)
    trainer_class, phase_at_step, epochs = Trainer, None, []
    if inputs.curriculum is not None:
        trainer_class, phase_at_step, counter = _apply_curriculum(config, inputs.curriculum, objective.dataset, args)
        epochs = [counter]  # first: every later callback reads the curriculum epoch
    history = HistoryCallback(output_dir / "history.jsonl", phase_at_step, objective.history_fields)
    callbacks = [*epochs, *objective.monitors, history, progress, *loss_parameter_sync(objective.parameters, model)]
    callbacks += extra_callbacks
    if not (settings.save_best_model or settings.early_stopping_patience):
        callbacks.append(SkipFinalEvaluation())  # the run's own final measurement follows
    if settings.unfreeze:
        stages = [(stage.epoch, None if stage.layers == "all" else stage.layers) for stage in settings.unfreeze]
        callbacks.append(ProgressiveUnfreezing(objective.parameters, stages))
    if settings.early_stopping_patience and best_metric:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=settings.early_stopping_patience))
    if is_main():  # the other ranks write nothing
        _reset_history(output_dir / "history.jsonl", checkpoint)
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=objective.dataset,
        loss=objective.loss,
        evaluator=[eval_set.evaluator for eval_set in inputs.targets] or None,  # guard sets: before and after only
        callbacks=callbacks,
    )
    trackers = hold_trackers(trainer, output_dir / "tensorboard")
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    _log_cache_use(objective.parameters)
    return TrainOutcome(objective.balance_warnings(), trackers)


def _log_cache_use(loss) -> None:
    from embedtune.modeling.frozen_cache import CachedEncoding

    for module in loss.modules():
        if isinstance(module, CachedEncoding):
            logger.info("strategy frozen: the encoder ran for %d distinct texts", module.encoded)
            return


def _loss_model(config: RunConfig, model):
    """The model the losses call. frozen: the head on cached encodings (modeling.frozen_cache), unless a loss reads
    the encoder itself (teachers, self-distillation) or several processes train (DDP syncs gradients through the
    run's model only)."""
    from embedtune.config.methods import TeacherLossConfig

    strategy = config.strategy
    if strategy.name != "frozen" or not strategy.cache_embeddings:
        return model
    losses = [config.loss, *(task.loss for task in config.data.tasks)]
    if any(isinstance(leaf, TeacherLossConfig) for loss in losses for leaf in loss.leaves()) or world_size() > 1:
        logger.info("strategy frozen: the encoder runs every step (distillation or several processes)")
        return model
    from embedtune.modeling.frozen_cache import cached_head_model

    logger.info("strategy frozen: each training text is encoded once, then the head trains on the cache")
    return cached_head_model(model)


def _with_layer_control(config: RunConfig, loss, lr_mapping: dict[str, float]) -> dict[str, float]:
    """Layer-wise decay and the head lr as lr-mapping patterns; a head lr replaces the strategy's own head lr."""
    settings = config.training
    weights = {LOG_VARIANCE_PATTERN: settings.task_weighting_lr} if settings.task_weighting == "uncertainty" else {}
    if settings.layer_lr_decay is None and settings.head_lr is None:
        return {**lr_mapping, **weights}
    names = [name for name, _ in loss.named_parameters()]
    layered = layerwise_lr_mapping(names, settings.lr, settings.layer_lr_decay, settings.head_lr)
    return {**(layered if settings.head_lr is not None else {**lr_mapping, **layered}), **weights}


def _apply_curriculum(config: RunConfig, plan: CurriculumPlan, dataset, args):
    """Turn the run into one pass over the curriculum order; returns the trainer class, a step -> phase map and
    the callback counting the curriculum's epochs."""
    from embedtune.training.trainer import Trainer

    settings = config.training
    texts = row_texts(dataset) if no_duplicates(config) else None
    epochs = plan.epoch_batches(settings.batch_size, settings.seed, texts)
    order = [batch for epoch in epochs for batch in epoch]
    args.batch_sampler = sampler_factory([rows for _, rows in order])
    args.num_train_epochs = 1  # one trainer pass; CurriculumEpochs counts the curriculum's epochs
    one_pass = math.ceil(len(order) / settings.gradient_accumulation_steps)
    if args.max_steps > one_pass:  # a second pass would replay phase 1 as if it were the last phase, at lr 0
        logger.warning(
            "training.max_steps %d is beyond the curriculum's %d steps; it ends there", args.max_steps, one_pass
        )
        args.max_steps = one_pass
    multipliers = None
    if plan.schedule == "restart":
        steps = optimizer_steps_per_phase(order, plan.phases, settings.gradient_accumulation_steps)
        default_warmup = settings.warmup_ratio or 0.0
        multipliers = restart_multipliers(
            steps, plan.phases, settings.lr, settings.scheduler, default_warmup, settings.warmup_steps
        )
    logger.info("curriculum: %s", ", ".join(f"phase {p.name}: {len(p.rows)} pairs x {p.epochs}" for p in plan.phases))
    trainer_class = curriculum_trainer_class(Trainer, multipliers)
    counter = CurriculumEpochs([len(epoch) for epoch in epochs], settings.gradient_accumulation_steps)
    return trainer_class, phase_lookup(order, settings.gradient_accumulation_steps), counter


def _reset_history(path: Path, checkpoint: Path | None) -> None:
    """A resumed run replays the steps after its checkpoint: drop their records so no step appears twice."""
    if checkpoint is None:
        path.unlink(missing_ok=True)
        return
    kept_until = int(checkpoint.name.rsplit("-", 1)[-1])
    kept = [record for record in read_history(path) if record["step"] <= kept_until and record["kind"] != "summary"]
    write_text_atomic(path, "".join(json.dumps(record) + "\n" for record in kept))
