"""Hyperparameter sweeps: ``embedtune sweep CONFIG --space SPACE.yaml --trials N`` on Optuna.

``space`` reads and checks the search space, ``study`` runs trials against a shared Optuna storage, ``report``
writes the trials table, the best config and the HTML report.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from embedtune.sweep.final import run_final
from embedtune.sweep.report import best_trial, write_outputs
from embedtune.sweep.study import Sweep, enqueue_defaults, load_study, open_sweep, run_worker

logger = logging.getLogger("embedtune")

__all__ = ["Sweep", "best_trial", "open_sweep", "run_final", "run_sweep", "run_worker"]


def run_sweep(
    config: Path,
    space: Path,
    output_dir: Path,
    trials: int,
    storage: str | None = None,
    study: str | None = None,
    jobs: int = 1,
    worker: int = 0,
):
    """Run the sweep to ``trials`` counted trials with ``jobs`` local worker processes; returns the study.

    Worker 0 (this process) starts the others with the same arguments, each with its share of the CPU threads, and
    writes the outputs after each of its trials and at the end. ``worker`` > 0: a started worker, trials only."""
    import torch

    sweep = open_sweep(config, space, output_dir, trials, storage, study)
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // jobs))
    if worker > 0:
        run_worker(sweep, worker)
        return None
    enqueue_defaults(load_study(sweep), sweep)  # before the others start: the defaults are enqueued once
    others = [_start_worker(sweep, space, index, jobs) for index in range(1, jobs)]
    try:
        run_worker(sweep, 0, on_trial_end=lambda s: write_outputs(s, sweep))
        failed = [process.args for process in others if process.wait() != 0]
    finally:
        for process in others:
            if process.poll() is None:
                process.terminate()
    result = load_study(sweep)
    write_outputs(result, sweep)
    if failed:
        logger.warning("sweep: %d worker process(es) ended with an error; their trials are in the study", len(failed))
    return result


def _start_worker(sweep: Sweep, space: Path, index: int, jobs: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "embedtune.cli", "sweep", str(sweep.config_path), "--space", str(space)]
    command += ["--trials", str(sweep.trials), "-o", str(sweep.output_dir), "--study", sweep.study_name]
    command += ["--storage", sweep.storage, "--jobs", str(jobs), "--worker", str(index)]
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    return subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": threads})
