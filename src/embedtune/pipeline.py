"""The training run, step by step: seed -> data -> model -> baseline eval -> train -> save -> final eval -> report.

The CLI is a thin wrapper over :func:`run_training`; so are tests and benchmarks. Each step lives in its own room
(``run_inputs``, ``training.run``, ``modeling.finalize``, ``evaluation.run_report``); this module orders them and
owns the run dir's life: nothing is written before every check has passed, then state.json follows the run.
"""

from __future__ import annotations

import json
import logging
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from transformers import set_seed

from embedtune.config import RunConfig, dump_config, input_paths, resumed_config
from embedtune.devices import check_precision, resolve_device, set_tf32, torch_device
from embedtune.distributed import from_main, is_main, start_processes, stop_processes, world_size
from embedtune.errors import ConfigError, ForgettingError, Interrupted, UserError, resource_error
from embedtune.evaluation.compare import paired_statistics
from embedtune.evaluation.retention import RetentionCheck, check_guards, check_retention, with_retention_data
from embedtune.evaluation.run_report import RunOutcome, write_run_reports
from embedtune.evaluation.suite import Measurement, measure
from embedtune.evaluation.verdict import forgetting_lines, run_verdict
from embedtune.modeling.finalize import finalize_model
from embedtune.modeling.interpolation import state_copy
from embedtune.modeling.load import load_model
from embedtune.modeling.strategies import check_strategy, parameter_counts
from embedtune.objectives.teacher import check_teachers
from embedtune.run_inputs import RunInputs, best_metric, load_run_inputs
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
from embedtune.training.history import StepCounter, append_eval_record
from embedtune.training.run import train
from embedtune.training.tracking import check_trackers, tracker_logs

logger = logging.getLogger("embedtune")


@dataclass
class RunResult:
    output_dir: Path
    metrics: dict
    seconds: float
    model: object = None  # the tuned model in memory (what model/ holds)
    retention: list[RetentionCheck] = field(default_factory=list)  # one check per guarded set
    statistics: dict = field(default_factory=dict)
    verdict: list[str] = field(default_factory=list)  # one line per eval set, then one per guarded set
    best_metric: str | None = None  # the metric the run selects on, or would (the first eval set's primary)


@dataclass
class _Prepared:
    """Everything checked and computed before the first write: bad input fails here and leaves nothing behind."""

    inputs: RunInputs
    model: object
    baseline: Measurement
    best_metric: str | None
    base_state: dict | None = None  # the untuned weights, kept when training.interpolate_base is set


def run_training(
    config: RunConfig,
    output_dir: Path,
    overwrite: bool = False,
    resume: bool = False,
    config_file: Path | None = None,
    callbacks: Callable[[str | None], list] | None = None,
    baselines: dict | None = None,
) -> RunResult:
    """Fine-tune as configured; write model/, config.yaml, history.jsonl, metrics.json, statistics.json, reports.

    With ``resume``, the run dir's own config.yaml is the config: a given ``config`` that differs is refused.
    ``callbacks``: given the metric the run selects on (None without eval sets), further Trainer callbacks (a sweep
    reports each evaluation to its trial). ``baselines``: a dict kept across runs (a sweep's trials) so a baseline of
    the same model, length, precision and eval sets is measured once.
    """
    started = time.time()
    device = resolve_device(config.training.device)
    start_processes(device)  # one process: nothing to do
    begun: list[_Prepared] = []

    def begin() -> tuple[RunConfig, str | None, Path | None]:
        """Every check, the baseline and the first writes: on rank 0 only, which tells the others the outcome."""
        inputs = (*input_paths(config), *([config_file] if config_file is not None else []))
        check_run_dir(output_dir, overwrite=overwrite, resume=resume, inputs=inputs)
        # A resume keeps the guard sets the run started with; a new run records the defaults it found.
        resolved = resumed_config(output_dir, config) if resume else with_retention_data(config)
        checkpoint = _resume_point(output_dir) if resume else None
        begun.append(_prepare(resolved, device, baselines))
        prepare_run_dir(output_dir, overwrite=overwrite, resume=resume)
        set_state(output_dir, "running")
        write_text_atomic(output_dir / "config.yaml", dump_config(resolved))
        return resolved, begun[0].best_metric, checkpoint

    config, selected, checkpoint = from_main(begin)
    if not is_main():
        return _follow(config, selected, output_dir, checkpoint, device, started)
    prepared = begun[0]
    progress = StepCounter()
    data, model = prepared.inputs, prepared.model
    trackers = []
    try:
        extra = callbacks(prepared.best_metric) if callbacks is not None else []
        trained = train(config, model, data, prepared.best_metric, output_dir, checkpoint, progress, extra)
        balance_warnings, trackers = trained.balance_warnings, trained.trackers
        finalize_model(
            model, config.strategy, output_dir / "adapter", prepared.base_state, config.training.interpolate_base
        )
        save_model_atomic(model, output_dir / "model")  # model/ is what gets measured
        final = measure(data.eval_sets, model, "final")
        _log_metrics("final", final.metrics)
        append_eval_record(output_dir / "history.jsonl", progress.step, progress.epoch, final.metrics)
        metrics = {"baseline": prepared.baseline.metrics, "final": final.metrics}
        statistics = paired_statistics(data.eval_sets, prepared.baseline, final, config.statistics)
        write_json_atomic(output_dir / "metrics.json", metrics)
        write_json_atomic(output_dir / "statistics.json", statistics)
        for tracker in trackers:
            tracker.finish(tracker_logs(metrics, statistics))
        retention = check_guards(metrics, data.guards)
        forgot = [check.message() for check in retention if check.forgot]
        off = [f"forgetting guard OFF: {data.guard_off}"] if not config.retention.enabled else []
        flags = [*off, *forgot, *balance_warnings]
        guard_lines = forgetting_lines(retention, statistics, data.guard_off)
        verdict = run_verdict(data.targets, metrics, statistics, guard_lines)
        outcome = RunOutcome(metrics, statistics, flags, verdict)
        write_run_reports(
            config,
            output_dir,
            data.eval_sets,
            data.guards,
            prepared.baseline,
            final,
            outcome,
            time.time() - started,
            len(data.train),
            config_file,
        )
    except KeyboardInterrupt:
        raise _interrupted(output_dir, progress) from None
    except BaseException as error:
        _record_failure(output_dir, error)
        translated = resource_error(error, config.training.batch_size)
        if translated is not None:
            raise translated from None
        raise
    finally:
        for tracker in trackers:  # a failed run's trackers end too (a no-op after the final metrics)
            tracker.finish(None)
    seconds = time.time() - started
    if not config.training.keep_checkpoints:
        remove_checkpoints(output_dir)
    elif (output_dir / "checkpoints").exists():
        follow_umask(output_dir / "checkpoints")
    set_state(output_dir, "done", seconds=round(seconds, 1), flags=flags, verdict=verdict)
    if forgot and config.retention.fail_on_forgetting:
        raise ForgettingError(f"{'; '.join(forgot)}; the model is kept in {output_dir / 'model'}")
    stop_processes()
    return RunResult(output_dir, metrics, seconds, model, retention, statistics, verdict, prepared.best_metric)


def _prepare(config: RunConfig, device: str, baselines: dict | None = None) -> _Prepared:
    """Data, model and baseline, with every check that needs them: all before the run dir exists."""
    inputs = load_run_inputs(config)
    set_seed(config.training.seed)
    check_precision(config.training.precision, device)
    set_tf32(device)  # before the baseline: baseline and final at the same matmul precision
    if world_size() > 1 and config.training.curriculum is not None:
        raise ConfigError("training.curriculum runs in one process (its batch order is one sequence); drop torchrun")
    check_trackers(config.training.report_to)
    model = load_model(
        config.model.name, config.model.max_seq_length, config.model.trust_remote_code, torch_device(device)
    )
    logger.info("device: %s, precision %s", model.device, config.training.precision)
    check_strategy(model, config.strategy)  # before the baseline, and before the run dir exists
    check_teachers(model, [config.loss, *(task.loss for task in config.data.tasks)])
    baseline = _baseline(config, device, inputs, model, baselines if baselines is not None else {})
    _log_metrics("baseline", baseline.metrics)
    base_state = state_copy(model) if config.training.interpolate_base is not None else None
    selected = best_metric(config, inputs, baseline.metrics)
    both = {"baseline": baseline.metrics, "final": baseline.metrics}
    for guard in inputs.guards:  # a metric the set does not measure fails here, before the run dir exists
        check_retention(both, guard.name, guard.metric, 0.0)
    return _Prepared(inputs, model, baseline, selected, base_state)


def _baseline(config: RunConfig, device: str, inputs, model, baselines: dict):
    """The untrained model measured on every eval and guard set (before any strategy wraps it): the same for every
    run of one model, length, precision and eval sets, so a sweep measures it once per worker."""
    # The measured sets themselves (a guard set the run trains on is dropped), then their settings.
    measured = [eval_set.name for eval_set in inputs.eval_sets]
    sections = (config.model, config.data.eval, config.retention, config.eval_batch_size)
    key = json.dumps([device, config.training.precision, measured, *(_dumped(s) for s in sections)], sort_keys=True)
    if key not in baselines:
        baselines[key] = measure(inputs.eval_sets, model, "baseline")
    else:
        logger.info("baseline: measured before on the same model and eval sets")
    return baselines[key]


def _dumped(section):
    if isinstance(section, list):
        return [_dumped(item) for item in section]
    return section.model_dump(mode="json") if hasattr(section, "model_dump") else section


def _follow(
    config: RunConfig, selected: str | None, output_dir: Path, checkpoint: Path | None, device: str, started: float
) -> RunResult:
    """A rank other than 0 under torchrun / accelerate: the same data and model, trained in step with rank 0 (the
    Trainer's DDP); it measures nothing and writes nothing."""
    logging.getLogger("embedtune").setLevel(logging.ERROR)  # rank 0 says it once
    inputs = load_run_inputs(config)
    set_seed(config.training.seed)
    model = load_model(
        config.model.name, config.model.max_seq_length, config.model.trust_remote_code, torch_device(device)
    )
    set_tf32(device)
    trained = train(config, model, inputs, selected, output_dir, checkpoint, StepCounter())
    for tracker in trained.trackers:  # the integrations log on rank 0 only; end them here all the same
        tracker.finish(None)
    stop_processes()
    return RunResult(output_dir, {}, time.time() - started)


def _resume_point(output_dir: Path) -> Path:
    """The checkpoint a resume starts from, chosen once (setting aside incomplete ones renames folders)."""
    checkpoint = last_complete_checkpoint(output_dir / "checkpoints")
    if checkpoint is None:
        raise UserError(f"{output_dir}: nothing to resume (no complete checkpoint in checkpoints/)")
    return checkpoint


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


def _record_failure(output_dir: Path, error: BaseException, state: str = "failed") -> None:
    """Best effort: with a full disk even state.json may not be writable, and that must not hide the real error."""
    try:
        set_state(output_dir, state, reason=f"{type(error).__name__}: {error}".splitlines()[0])
    except OSError:
        logger.warning("could not record the failure in %s/state.json", output_dir)


def _log_metrics(label: str, metrics: dict) -> None:
    for name, values in metrics.items():
        logger.info("%s %s: %s", label, name, ", ".join(f"{k}={v:.4f}" for k, v in values.items()))


__all__ = ["RunResult", "parameter_counts", "run_training"]
