"""A sweep on Optuna: seeded TPE, median pruning on the evaluations during training, the forgetting guard as a
constraint, and a storage every worker shares.

The default storage is SQLite in the sweep dir, so running the same command again (after Ctrl-C or ``kill -9``)
continues the study: finished trials count towards ``--trials``; a trial whose worker died stops sending heartbeats,
is marked failed after ``GRACE_SECONDS`` and retried once with its parameters. Any SQLAlchemy URL (PostgreSQL,
MySQL) given as ``--storage`` lets workers on several machines share one study.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from embedtune.config import config_from_raw
from embedtune.config.loading import read_yaml
from embedtune.errors import ConfigError, NonFiniteLossError, UnmeasuredMetricError, UserError
from embedtune.evaluation.verdict import direction
from embedtune.rundir import write_text_atomic
from embedtune.sweep.space import SpaceConfig, apply_values, defaults_of, key_lines, load_space, sample

logger = logging.getLogger("embedtune")

HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 30  # a RUNNING trial without a heartbeat for this long belonged to a worker that died
FAILURES = (UserError, NonFiniteLossError)  # a trial that fails with these is recorded and the sweep goes on


@dataclass
class Sweep:
    config_path: Path
    config_raw: dict
    space: SpaceConfig
    output_dir: Path
    trials: int
    storage: str
    study_name: str
    metric: str | None  # None: each trial's own selection metric (the first eval set's primary)
    shared: bool = False  # the storage was given (--storage): other machines may run workers
    space_path: Path | None = None


def open_sweep(
    config_path: Path, space_path: Path, output_dir: Path, trials: int, storage: str | None, study: str | None
) -> Sweep:
    """Check the config and the space (every bound and choice) and claim the sweep dir: nothing runs before this.

    A sweep dir remembers the config and space it was started with; another pair there is refused, so a resumed
    study never mixes two searches."""
    raw = read_yaml(config_path)
    config = config_from_raw(raw, config_path)
    space = load_space(space_path, raw, config_path)
    metric = space.metric or config.training.metric_for_best_model
    names = [eval_set.name for eval_set in config.data.eval]
    if not names:
        raise ConfigError(f"{config_path}: a sweep needs data.eval: the dev set it chooses on")
    if metric is not None and not any(metric.startswith(f"{name}_") for name in names):
        raise ConfigError(f"{space_path}: metric '{metric}' is not measured by an eval set of {config_path} ({names})")
    if metric is not None and direction(metric) != {"maximize": 1, "minimize": -1}[space.direction]:
        better = {1: "higher is better: direction: maximize", -1: "lower is better: direction: minimize"}
        raise ConfigError(
            f"{space_path}: direction {space.direction} for '{metric}', but "
            + better.get(direction(metric), "it is a setting, not a quality: choose another metric")
        )
    if not config.retention.enabled:
        logger.warning("sweep: the forgetting guard is off in %s: no trial is held back for forgetting", config_path)
    output_dir.mkdir(parents=True, exist_ok=True)
    identity = {"config": _digest(config_path), "space": _digest(space_path)}
    recorded = output_dir / "sweep.json"
    if recorded.exists():
        before = json.loads(recorded.read_text(encoding="utf-8"))
        if {key: before.get(key) for key in identity} != identity:
            raise ConfigError(
                f"{output_dir}: holds a sweep of another config or space ({before.get('config_path')}, "
                f"{before.get('space_path')}); choose another --output"
            )
    else:
        record = {**identity, "config_path": str(config_path), "space_path": str(space_path)}
        write_text_atomic(recorded, json.dumps(record, indent=2) + "\n")
    url = storage or f"sqlite:///{(output_dir / 'study.db').resolve()}"
    name = study or output_dir.name
    return Sweep(config_path, raw, space, output_dir, trials, url, name, metric, storage is not None, space_path)


def _digest(path: Path) -> str:
    """Of the parsed file: a comment or a layout change is the same search."""
    text = json.dumps(read_yaml(path), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_study(sweep: Sweep, worker: int = 0):
    """The shared study, created on first use. Each worker start seeds its sampler apart (trials so far, worker
    index, and with a given --storage the process id: workers on several machines start alike), so a resumed or
    parallel worker does not draw the same random start-up points again. One worker on the default storage is
    reproducible."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Heartbeats and stale-trial retries are what make kill -9 resumable; Optuna still calls them experimental.
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    storage = _storage(sweep.storage)
    pruning = sweep.space.pruning
    common = {"storage": storage, "study_name": sweep.study_name, "direction": sweep.space.direction}
    study = optuna.create_study(**common, load_if_exists=True)
    study.sampler = optuna.samplers.TPESampler(
        seed=sweep.space.seed + 1000 * worker + len(study.trials) + (os.getpid() if sweep.shared else 0),
    )  # constrained: run_trial sets each trial's constraint, which the sampler reads from the trial (Optuna 5)
    # TrialReporter numbers evaluations from 0 as Optuna's steps: the first ``warmup_evaluations`` never prune
    study.pruner = optuna.pruners.MedianPruner(
        n_startup_trials=pruning.startup_trials, n_warmup_steps=pruning.warmup_evaluations
    )
    return study


def _storage(url: str, attempts: int = 5):
    """The RDB storage. Workers that start together on a new database race to create its tables: the losers retry."""
    from optuna import storages
    from sqlalchemy.exc import SQLAlchemyError

    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    for attempt in range(attempts):
        try:
            return storages.RDBStorage(
                url,
                engine_kwargs=engine,
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=GRACE_SECONDS,
                # a trial whose worker died (no heartbeat) is failed and retried once, with its parameters
                heartbeat_stale_trial_callback=storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
        except SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(1 + attempt)


def counted(study) -> tuple[int, int]:
    """(trials that count towards --trials, trials still to finish: running or waiting). A trial failed by its own
    error counts; one failed because its worker died does not (its retry is waiting)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    done = sum(
        1
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        or (t.state == TrialState.FAIL and "reason" in t.user_attrs)
    )
    pending = sum(1 for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING))
    return done, pending


def run_worker(sweep: Sweep, worker: int = 0, on_trial_end=None) -> None:
    """Run trials until the study holds ``sweep.trials`` counted ones; waits for trials other workers still run."""
    import optuna

    study = load_study(sweep, worker)
    if worker == 0:  # started workers (index > 0) leave it to worker 0, which enqueues before starting them
        enqueue_defaults(study, sweep)
    baselines: dict = {}  # the untrained model's metrics: the same in every trial, measured once per worker
    while True:
        optuna.storages.fail_stale_trials(study)  # a dead worker's trial: failed, and its retry enqueued
        done, pending = counted(study)
        if done >= sweep.trials:
            return
        if done + pending >= sweep.trials and not _waiting(study):
            time.sleep(HEARTBEAT_SECONDS)  # the last trials run elsewhere (or their worker died: grace period)
            continue
        try:
            study.optimize(lambda trial: run_trial(sweep, trial, baselines), n_trials=1, catch=FAILURES)
        except _EveryTrialFails as error:
            raise ConfigError(str(error)) from None
        if on_trial_end is not None:
            on_trial_end(study)


def enqueue_defaults(study, sweep: Sweep) -> None:
    """Trial 0 of a new study: the recipe's own values, what the search has to beat at the same budget."""
    if not study.trials:
        study.enqueue_trial(defaults_of(sweep.space, sweep.config_raw), {"defaults": True}, skip_if_exists=True)


def _waiting(study) -> bool:
    from optuna.trial import TrialState

    return any(t.state == TrialState.WAITING for t in study.get_trials(deepcopy=False))


class _EveryTrialFails(Exception):
    """A trial error no other trial can avoid (the metric is not measured): it ends the sweep, not one trial."""


def trial_config(sweep: Sweep, number: int, values: dict[str, Any]):
    """The config trial ``number`` trains: the sweep's config, the space's trial settings, the sampled values."""
    fixed = {"output_dir": str(sweep.output_dir / "trials" / f"{number:04d}")}
    fixed["retention.fail_on_forgetting"] = False  # forgetting is the constraint, not an error
    if sweep.metric is not None:  # the pipeline checks it is measured after the baseline, before training
        fixed["training.metric_for_best_model"] = sweep.metric
    raw = apply_values(sweep.config_raw, {**sweep.space.trial, **values, **fixed}, f"trial {number}")
    return config_from_raw(raw, sweep.config_path, source=f"trial {number} ({_describe(values)})")


def run_trial(sweep: Sweep, trial, baselines: dict | None = None) -> float:
    """Train one sampled config into trials/NNNN and return its dev metric; records why it failed or was pruned."""
    from embedtune.pipeline import run_training

    values = sample(sweep.space, trial, sweep.config_raw)
    run_dir = sweep.output_dir / "trials" / f"{trial.number:04d}"
    trial.set_user_attr("run", str(run_dir))
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    started = time.time()
    try:
        config = trial_config(sweep, trial.number, values)
        reporter = lambda selected: [TrialReporter(trial, sweep.metric or selected)]  # noqa: E731
        result = run_training(config, run_dir, overwrite=True, callbacks=reporter, baselines=baselines)
        metric = sweep.metric or result.best_metric
        value = _final_value(result.metrics["final"], metric)
    except FAILURES as error:
        trial.set_user_attr("reason", f"{type(error).__name__}: {error}".splitlines()[0])
        logger.warning("sweep: trial %d failed: %s", trial.number, error)
        if isinstance(error, UnmeasuredMetricError):
            raise _EveryTrialFails(_unmeasured(sweep, error)) from error
        raise
    finally:
        trial.set_user_attr("seconds", round(time.time() - started, 1))
    checks = result.retention
    trial.set_user_attr("metric", metric)
    trial.set_user_attr("retention_drop", max((c.drop for c in checks), default=0.0))
    over = max((c.over for c in checks), default=0.0)
    trial.set_user_attr("over_tolerance", over)
    trial.set_constraint("forgetting", over)
    trial.set_user_attr("forgot", [f"{c.eval_set}_{c.metric}" for c in checks if c.forgot])
    return value


def _final_value(final: dict[str, dict[str, float]], metric: str) -> float:
    for values in final.values():
        if metric in values:
            return values[metric]
    raise UnmeasuredMetricError(metric, sorted(k for v in final.values() for k in v))


def _unmeasured(sweep: Sweep, error: UnmeasuredMetricError) -> str:
    if sweep.space.metric is not None and sweep.space_path is not None:
        line = key_lines(sweep.space_path).get("metric", 1)
        return f"{sweep.space_path}:{line}: metric: '{error.metric}' is not measured; choose one of {error.known}"
    return f"{sweep.config_path}: {error}"


def _describe(values: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in values.items())


class TrialReporter(TrainerCallback):
    """Reports the dev metric of each evaluation during training to the trial, and stops a trial the median pruner
    judges behind (the pipeline records the run as failed with the pruning reason)."""

    def __init__(self, trial, metric: str | None) -> None:
        self.trial, self.metric, self.evaluations = trial, metric, 0

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        import optuna

        value = (metrics or {}).get(f"eval_{self.metric}")
        if value is None:
            return
        self.trial.report(float(value), self.evaluations)  # step 0 is the first evaluation, as in Optuna
        self.evaluations += 1
        if self.trial.should_prune():
            self.trial.set_user_attr("reason", f"pruned at evaluation {self.evaluations}: {self.metric} {value:.4f}")
            raise optuna.TrialPruned(f"{self.metric} {value:.4f} at step {state.global_step} is below the median")
