"""The training run, step by step: seed -> data -> model -> baseline eval -> train -> save -> final eval -> report.

The CLI is a thin wrapper over :func:`run_training`; so are tests and benchmarks.
"""

from __future__ import annotations

import json
import logging
import platform
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import set_seed

from embedtune.config import RunConfig, dump_config, input_paths, resumed_config
from embedtune.data.checks import warn_data_issues
from embedtune.data.readers import load_pairs
from embedtune.data.rehearsal import mix_rehearsal
from embedtune.errors import ConfigError, ForgettingError, Interrupted, UserError, resource_error
from embedtune.evaluation.compare import paired_statistics
from embedtune.evaluation.report import html_report, markdown_report
from embedtune.evaluation.retention import RetentionCheck, check_retention, retention_eval_set, with_retention_data
from embedtune.evaluation.suite import EvalSet, Measurement, load_eval_sets, measure, metric_prefix
from embedtune.evaluation.verdict import run_verdict
from embedtune.modeling.interpolation import interpolate_weights, state_copy
from embedtune.modeling.layers import LOG_VARIANCE_PATTERN, ProgressiveUnfreezing, layerwise_lr_mapping
from embedtune.modeling.load import load_model, resolve_model_path
from embedtune.modeling.strategies import apply_strategy, check_strategy, merge_lora, parameter_counts
from embedtune.objectives import build_loss, prepare_training_data
from embedtune.objectives.build import uses_in_batch_negatives
from embedtune.objectives.composite import CompositeLoss
from embedtune.objectives.guard import FiniteLossGuard
from embedtune.objectives.multitask import TaskLoss
from embedtune.objectives.teacher import check_teachers
from embedtune.rundir import (
    check_run_dir,
    follow_umask,
    last_complete_checkpoint,
    prepare_run_dir,
    remove_checkpoints,
    save_model_atomic,
    set_state,
    write_json_atomic,
    write_text_atomic,
)
from embedtune.training import HistoryCallback, read_history, training_arguments
from embedtune.training.composite_monitor import CompositeMonitor, StepProgress, TaskMonitor
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
from embedtune.training.history import SkipFinalEvaluation, StepCounter, append_eval_record

logger = logging.getLogger("embedtune")


@dataclass
class RunResult:
    output_dir: Path
    metrics: dict
    seconds: float
    model: object = None  # the tuned model in memory (what model/ holds)
    retention: RetentionCheck | None = None
    statistics: dict = field(default_factory=dict)
    verdict: list[str] = field(default_factory=list)  # one line per eval set, then the forgetting check


@dataclass
class _Prepared:
    """Everything checked and computed before the first write: bad input fails here and leaves nothing behind."""

    train_data: object
    eval_sets: list[EvalSet]
    retention_name: str | None
    model: object
    baseline: Measurement
    best_metric: str | None
    curriculum: CurriculumPlan | None = None
    tasks: list = field(default_factory=list)  # PairData of each data.tasks entry, in order
    rehearsal_texts: list[str] = field(default_factory=list)  # every rehearsal-set text (distill_texts)
    base_state: dict | None = None  # the untuned weights, kept when training.interpolate_base is set


def run_training(
    config: RunConfig,
    output_dir: Path,
    overwrite: bool = False,
    resume: bool = False,
    config_file: Path | None = None,
) -> RunResult:
    """Fine-tune as configured; write model/, config.yaml, history.jsonl, metrics.json, statistics.json, reports.

    With ``resume``, the run dir's own config.yaml is the config: a given ``config`` that differs is refused.
    """
    started = time.time()
    inputs = (*input_paths(config), *([config_file] if config_file is not None else []))
    check_run_dir(output_dir, overwrite=overwrite, resume=resume, inputs=inputs)
    config = with_retention_data(config)
    if resume:
        config = resumed_config(output_dir, config)
    prepared = _prepare(config)
    prepare_run_dir(output_dir, overwrite=overwrite, resume=resume)
    set_state(output_dir, "running")
    write_text_atomic(output_dir / "config.yaml", dump_config(config))
    progress = StepCounter()
    try:
        balance_warnings = _train(config, output_dir, prepared, resume, progress)
        _save_model(config, prepared, output_dir)
        final = measure(prepared.eval_sets, prepared.model, "final")
        _log_metrics("final", final.metrics)
        append_eval_record(output_dir / "history.jsonl", progress.step, progress.epoch, final.metrics)
        metrics = {"baseline": prepared.baseline.metrics, "final": final.metrics}
        statistics = _statistics(config, prepared, final)
        write_json_atomic(output_dir / "metrics.json", metrics)
        write_json_atomic(output_dir / "statistics.json", statistics)
        retention = _retention(config, metrics, prepared.retention_name)
        flags = [retention.message()] if retention is not None and retention.forgot else []
        flags += balance_warnings
        targets = prepared.eval_sets[: len(config.data.eval)]  # the retention set, when added, has its own line
        verdict = run_verdict(targets, metrics, statistics, _retention_view(config, prepared, retention))
        outcome = {"metrics": metrics, "statistics": statistics, "flags": flags, "verdict": verdict}
        _write_reports(config, output_dir, prepared, final, outcome, time.time() - started)
    except KeyboardInterrupt:
        raise _interrupted(output_dir, progress) from None
    except BaseException as error:
        _record_failure(output_dir, error)
        translated = resource_error(error, config.training.batch_size)
        if translated is not None:
            raise translated from None
        raise
    seconds = time.time() - started
    if not config.training.keep_checkpoints:
        remove_checkpoints(output_dir)
    elif (output_dir / "checkpoints").exists():
        follow_umask(output_dir / "checkpoints")
    set_state(output_dir, "done", seconds=round(seconds, 1), flags=flags, verdict=verdict)
    if retention is not None and retention.forgot and config.retention.fail_on_forgetting:
        raise ForgettingError(f"{retention.message()}; the model is kept in {output_dir / 'model'}")
    return RunResult(output_dir, metrics, seconds, prepared.model, retention, statistics, verdict)


def _interrupted(output_dir: Path, progress: StepCounter) -> Interrupted:
    """Ctrl-C mid-run: record it, and say where training got to and how to go on."""
    checkpoint = (
        last_complete_checkpoint(output_dir / "checkpoints") if (output_dir / "checkpoints").exists() else None
    )
    where = f"step {progress.step} of {progress.max_steps}" if progress.max_steps else "the start of training"
    _record_failure(output_dir, KeyboardInterrupt(f"interrupted at {where}"), state="interrupted")
    if checkpoint is None:
        return Interrupted(f"interrupted at {where}, before the first checkpoint; start again with --overwrite")
    command = f"embedtune train --resume -o {shlex.quote(str(output_dir))}"
    return Interrupted(f"interrupted at {where}; {checkpoint.name} kept; resume with: {command}")


def _retention_view(config: RunConfig, prepared: _Prepared, check: RetentionCheck | None) -> dict:
    """What the verdict says of the forgetting guard: why it is off, or which set it watched."""
    if not config.retention.enabled:
        return {"off": "retention.enabled is false: general semantics were not checked"}
    if prepared.retention_name is None or check is None:
        return {"off": "no STS-B dev under ../shared/data; set retention.data to a general-semantics set"}
    path = Path(config.retention.data.path) if config.retention.data is not None else None
    label = "/".join(path.parts[-2:]) if path is not None else prepared.retention_name
    return {"name": prepared.retention_name, "label": label, "check": check}


def _record_failure(output_dir: Path, error: BaseException, state: str = "failed") -> None:
    """Best effort: with a full disk even state.json may not be writable, and that must not hide the real error."""
    try:
        set_state(output_dir, state, reason=f"{type(error).__name__}: {error}".splitlines()[0])
    except OSError:
        logger.warning("could not record the failure in %s/state.json", output_dir)


def _prepare(config: RunConfig) -> _Prepared:
    train_data, eval_sets, retention_name, rehearsal_texts = _load_data(config)
    tasks = [prepare_training_data(load_pairs(task.data), task.loss) for task in config.data.tasks]
    curriculum = config.training.curriculum
    plan = CurriculumPlan.build(train_data, curriculum) if curriculum is not None else None
    set_seed(config.training.seed)
    model = load_model(config.model.name, config.model.max_seq_length, config.model.trust_remote_code)
    check_strategy(model, config.strategy)  # before the baseline, and before the run dir exists
    check_teachers(model, [config.loss, *(task.loss for task in config.data.tasks)])
    baseline = measure(eval_sets, model, "baseline")
    _log_metrics("baseline", baseline.metrics)
    base_state = state_copy(model) if config.training.interpolate_base is not None else None
    best_metric = _best_metric(config, eval_sets, baseline.metrics, retention_name)
    if retention_name:
        check_retention(
            {"baseline": baseline.metrics, "final": baseline.metrics}, retention_name, config.retention.metric, 0.0
        )
    return _Prepared(
        train_data,
        eval_sets,
        retention_name,
        model,
        baseline,
        best_metric,
        curriculum=plan,
        tasks=tasks,
        rehearsal_texts=rehearsal_texts,
        base_state=base_state,
    )


def _statistics(config: RunConfig, prepared: _Prepared, final: Measurement) -> dict:
    """Paired bootstrap of final vs baseline on the same resampled items, per eval set and metric."""
    return paired_statistics(prepared.eval_sets, prepared.baseline, final, config.statistics)


def _retention(config: RunConfig, metrics: dict, name: str | None) -> RetentionCheck | None:
    if not name:
        return None
    check = check_retention(metrics, name, config.retention.metric, config.retention.tolerance)
    (logger.warning if check.forgot else logger.info)("%s", check.message())
    return check


def _load_data(config: RunConfig):
    """Training pairs (rehearsal mixed in), eval sets, the retention set's name and the rehearsal pairs' texts."""
    train = prepare_training_data(load_pairs(config.data.train), config.loss)
    retention, added = retention_eval_set(config.retention, config.data.eval)
    eval_configs = [*config.data.eval, retention] if added else list(config.data.eval)
    eval_sets = load_eval_sets(eval_configs, batch_size=config.eval_batch_size)
    eval_data = [eval_set.data for eval_set in eval_sets if eval_set.data is not None]
    warn_data_issues(train, eval_data)
    rehearsal_texts: list[str] = []
    if config.data.rehearsal is not None:
        train, rehearsal_texts = _with_rehearsal(train, config, eval_data)
    _warn_about_settings(config)
    if config.training.metric_for_best_model and not config.data.eval:
        raise ConfigError("training.metric_for_best_model is set but data.eval is empty")
    retention_name = metric_prefix(retention) if retention is not None else None
    return train, eval_sets, retention_name, rehearsal_texts


def _with_rehearsal(train, config: RunConfig, eval_data: list):
    settings = config.data.rehearsal
    rehearsal = prepare_training_data(load_pairs(settings.data), config.loss)
    warn_data_issues(rehearsal, eval_data)
    return mix_rehearsal(train, rehearsal, settings.ratio, settings.seed), rehearsal.texts()


def _train(config: RunConfig, output_dir: Path, prepared: _Prepared, resume: bool, progress: StepCounter) -> list[str]:
    """Train in place; returns the composite balance warnings (none for a single loss)."""
    from transformers import EarlyStoppingCallback

    from embedtune.training.trainer import Trainer

    model, best_metric, settings = prepared.model, prepared.best_metric, config.training
    lr_mapping = apply_strategy(model, config.strategy, settings.lr)
    objective = _objective(config, prepared, model)
    lr_mapping = _with_layer_control(config, objective.parameters, lr_mapping)
    args = training_arguments(settings, output_dir / "checkpoints", best_metric, _no_duplicates(config), lr_mapping)
    trainer_class, phase_at_step, epochs = Trainer, None, []
    if prepared.curriculum is not None:
        trainer_class, phase_at_step, counter = _apply_curriculum(config, prepared.curriculum, objective.dataset, args)
        epochs = [counter]  # first: every later callback reads the curriculum epoch
    history = HistoryCallback(output_dir / "history.jsonl", phase_at_step, objective.history_fields)
    callbacks = [*epochs, *objective.monitors, history, progress]
    if not (settings.save_best_model or settings.early_stopping_patience):
        callbacks.append(SkipFinalEvaluation())  # the run's own final measurement follows
    if settings.unfreeze:
        stages = [(stage.epoch, None if stage.layers == "all" else stage.layers) for stage in settings.unfreeze]
        callbacks.append(ProgressiveUnfreezing(objective.parameters, stages))
    if settings.early_stopping_patience and best_metric:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=settings.early_stopping_patience))
    _reset_history(output_dir / "history.jsonl", resume)
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=objective.dataset,
        loss=objective.loss,
        evaluator=[eval_set.evaluator for eval_set in prepared.eval_sets] or None,
        callbacks=callbacks,
    )
    checkpoint = last_complete_checkpoint(output_dir / "checkpoints") if resume else None
    if resume and checkpoint is None:
        raise UserError(f"{output_dir}: nothing to resume (no complete checkpoint in checkpoints/)")
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    return [warning for monitor in objective.monitors for warning in getattr(monitor, "warnings", [])]


@dataclass
class _Objective:
    """What the trainer optimises: one loss and dataset, or (multi-task) dicts of both keyed by task name."""

    loss: object
    dataset: object
    parameters: object  # every loss parameter under one module (layer control, unfreezing)
    monitors: list = field(default_factory=list)  # callbacks that also add fields to history records

    def history_fields(self) -> dict[str, float]:
        fields: dict[str, float] = {}
        for monitor in self.monitors:
            fields.update(monitor.record_fields())
        return fields


def _objective(config: RunConfig, prepared: _Prepared, model) -> _Objective:
    from torch import nn

    main = build_loss(model, config.loss, prepared.train_data.texts(), prepared.rehearsal_texts)
    monitors = []
    if isinstance(main, CompositeLoss):
        monitors.append(CompositeMonitor(main, config.loss.balance_share, config.loss.balance_window))
    if not prepared.tasks:
        if not isinstance(main, CompositeLoss):  # composites check each component themselves
            main = FiniteLossGuard(main, config.loss.name)
            monitors.append(StepProgress(main))
        return _Objective(main, prepared.train_data.to_dataset(), main, monitors)
    from datasets import DatasetDict

    uncertainty = config.training.task_weighting == "uncertainty"
    losses = {"main": TaskLoss("main", main, 1.0, uncertainty)}
    datasets = {"main": prepared.train_data.to_dataset()}
    for task, data in zip(config.data.tasks, prepared.tasks):
        task_loss = build_loss(model, task.loss, texts=data.texts())
        losses[task.name] = TaskLoss(task.name, task_loss, task.weight, uncertainty)
        datasets[task.name] = data.to_dataset()
    monitors.append(TaskMonitor(losses))
    return _Objective(losses, DatasetDict(datasets), nn.ModuleDict(losses), monitors)


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
    """Turn the run into one pass over the curriculum order; returns the trainer class and a step -> phase map."""
    from embedtune.training.trainer import Trainer

    settings = config.training
    texts = row_texts(dataset) if _no_duplicates(config) else None
    epochs = plan.epoch_batches(settings.batch_size, settings.seed, texts)
    order = [batch for epoch in epochs for batch in epoch]
    args.batch_sampler = sampler_factory([rows for _, rows in order])
    args.num_train_epochs = 1  # one trainer pass; CurriculumEpochs counts the curriculum's epochs
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


def _reset_history(path: Path, resume: bool) -> None:
    """A resumed run replays the steps after its last checkpoint: drop their records so no step appears twice."""
    if not resume:
        path.unlink(missing_ok=True)
        return
    last = last_complete_checkpoint(path.parent / "checkpoints")
    kept_until = int(last.name.rsplit("-", 1)[-1]) if last else 0
    kept = [record for record in read_history(path) if record["step"] <= kept_until and record["kind"] != "summary"]
    write_text_atomic(path, "".join(json.dumps(record) + "\n" for record in kept))


def _best_metric(config: RunConfig, eval_sets: list[EvalSet], baseline: dict, guard: str | None) -> str | None:
    """Model selection uses the user's eval sets; the retention set (``guard``) is watched, never selected on,
    even when a data.eval set doubles as it."""
    user_sets = [eval_set for eval_set in eval_sets[: len(config.data.eval)] if eval_set.name != guard]
    if not user_sets:
        return None
    chosen = config.training.metric_for_best_model or user_sets[0].evaluator.primary_metric
    if guard is not None and chosen in baseline.get(guard, {}):
        raise ConfigError(
            f"training.metric_for_best_model: '{chosen}' belongs to the forgetting guard ({guard}); select on "
            "another eval set"
        )
    known = [metric for eval_set in user_sets for metric in baseline[eval_set.name]]
    if chosen not in known:
        raise ConfigError(f"training.metric_for_best_model: '{chosen}' is not measured; choose one of {known}")
    if config.training.save_best_model or config.training.early_stopping_patience:
        logger.warning(
            "model selection uses %s, so its final numbers are optimistic; report an eval set not used for selection",
            chosen,
        )
    return chosen


def _warn_about_settings(config: RunConfig) -> None:
    if uses_in_batch_negatives(config.loss) and config.training.gradient_accumulation_steps > 1:
        logger.warning(
            "gradient_accumulation_steps=%d does not add in-batch negatives to %s (each anchor still sees %d); "
            "use loss.name: cached_mnrl with a larger batch_size instead",
            config.training.gradient_accumulation_steps,
            config.loss.name,
            config.training.batch_size - 1,
        )


def _no_duplicates(config: RunConfig) -> bool:
    if config.training.no_duplicates is not None:
        return config.training.no_duplicates
    return any(uses_in_batch_negatives(loss) for loss in (config.loss, *(task.loss for task in config.data.tasks)))


def _save_model(config: RunConfig, prepared: _Prepared, output_dir: Path) -> None:
    """model/ is what gets measured: merged LoRA, and interpolated towards the base when configured (adapter/
    keeps the trained, uninterpolated adapter)."""
    model = prepared.model
    if config.strategy.name == "lora":
        save_model_atomic(model, output_dir / "adapter")
        if config.strategy.merge_lora:
            merge_lora(model)
    if prepared.base_state is not None:
        interpolate_weights(model, prepared.base_state, config.training.interpolate_base)
        logger.info("model/ = base + %.2f x (tuned - base) (WiSE-FT)", config.training.interpolate_base)
    save_model_atomic(model, output_dir / "model")


def _log_metrics(label: str, metrics: dict) -> None:
    for name, values in metrics.items():
        logger.info("%s %s: %s", label, name, ", ".join(f"{k}={v:.4f}" for k, v in values.items()))


def _write_reports(
    config: RunConfig, output_dir: Path, prepared: _Prepared, final: Measurement, outcome: dict, seconds: float
) -> None:
    import sentence_transformers

    details = {
        "model": resolve_model_path(config.model.name),
        "strategy": config.strategy.name,
        "loss": config.loss.describe(),
        "train data": str(config.data.train.path),
        "seed": str(config.training.seed),
        "forgetting guard": _guard_detail(config, prepared),
        "intervals": f"{config.statistics.confidence:.0%} paired bootstrap, {config.statistics.resamples} resamples"
        if config.statistics.resamples
        else "off",
        "resampling": _resampling_detail(outcome["statistics"]),
        "wall time": f"{seconds / 60:.1f} min",
        "versions": f"embedtune {_version()}, sentence-transformers {sentence_transformers.__version__}, "
        f"python {platform.python_version()}",
    }
    title = f"embedtune run: {output_dir.name}"
    shared = {key: outcome[key] for key in ("statistics", "flags", "verdict")}
    shared["confidence"] = config.statistics.confidence
    write_text_atomic(output_dir / "report.md", markdown_report(outcome["metrics"], title, details, **shared))
    html = html_report(
        outcome["metrics"],
        title,
        details,
        **shared,
        history=read_history(output_dir / "history.jsonl"),
        similarities=_similarities(prepared, final),
        dimension_curves=_dimension_curves(prepared, outcome["metrics"]),
    )
    write_text_atomic(output_dir / "report.html", html)


def _resampling_detail(statistics: dict) -> str:
    """Per eval set, what the bootstrap resampled: items, or clusters of pairs sharing a document."""
    found = {name: next(iter(records.values()), {}).get("resampling") for name, records in statistics.items()}
    return "; ".join(f"{name}: {how}" for name, how in found.items() if how) or "none"


def _guard_detail(config: RunConfig, prepared: _Prepared) -> str:
    if prepared.retention_name is None:
        return "off" if not config.retention.enabled else "off (no retention set found)"
    settings = config.retention
    return (
        f"{prepared.retention_name} = {settings.data.path if settings.data is not None else '?'}, "
        f"{settings.metric} may drop by at most {settings.tolerance:g}"
    )


def _similarities(prepared: _Prepared, final: Measurement) -> dict:
    """Pair cosines with 0/1 labels, baseline and final, for the report's histograms."""
    found = {}
    for name, items in final.items.items():
        before = prepared.baseline.items.get(name, {})
        if {"cosine", "label"} <= set(items) and {"cosine", "label"} <= set(before):
            found[name] = {
                half: {"cosine": source["cosine"], "label": source["label"]}
                for half, source in (("baseline", before), ("final", items))
            }
    return found


def _dimension_curves(prepared: _Prepared, metrics: dict) -> dict:
    curves = {}
    for eval_set in prepared.eval_sets:
        if hasattr(eval_set.evaluator, "dimension_curve"):
            curves[eval_set.name] = {
                half: eval_set.evaluator.dimension_curve(metrics[half][eval_set.name])
                for half in ("baseline", "final")
            }
    return curves


def _version() -> str:
    from embedtune import __version__

    return __version__


__all__ = ["RunResult", "parameter_counts", "run_training"]
