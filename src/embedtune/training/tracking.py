"""Experiment trackers: ``training.report_to`` goes to the Trainer as is; checked first so a typo or a missing
package is one line before anything runs, not a traceback after the baseline."""

from __future__ import annotations

import difflib
from pathlib import Path

from transformers import TrainerCallback

from embedtune.errors import UserError


def check_trackers(names: list[str]) -> None:
    """Each name must be one of the Trainer's integrations, and its package importable."""
    if not names:
        return
    from transformers.integrations.integration_utils import (
        INTEGRATION_TO_CALLBACK,
        get_available_reporting_integrations,
    )

    installed = set(get_available_reporting_integrations())
    for name in (name for name in names if name not in ("all", "none")):  # the Trainer's own shorthands
        if name not in INTEGRATION_TO_CALLBACK:
            close = difflib.get_close_matches(name, list(INTEGRATION_TO_CALLBACK), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; one of {', '.join(INTEGRATION_TO_CALLBACK)}"
            raise UserError(f"training.report_to: '{name}' is not a tracker the Trainer knows{hint}")
        if name not in installed:
            raise UserError(f"training.report_to: {name} is not installed (pip install {_package(name)})")


def _package(name: str) -> str:
    return {"azure_ml": "azureml-core", "comet_ml": "comet-ml", "neptune": "neptune"}.get(name, name)


def hold_trackers(trainer, tensorboard_dir: Path) -> list:
    """Swap the trainer's tracker callbacks for :class:`HeldTracker` s, in place; returns them for ``finish``.
    TensorBoard writes to ``tensorboard_dir`` (unless TENSORBOARD_LOGGING_DIR says otherwise), not under the
    checkpoints, which go when the run is done."""
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK, TensorBoardCallback

    kinds = tuple(INTEGRATION_TO_CALLBACK.values())
    callbacks = trainer.callback_handler.callbacks
    held = []
    for index, callback in enumerate(callbacks):
        if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
            callback.logging_dir = str(tensorboard_dir)
        if isinstance(callback, kinds):
            callbacks[index] = HeldTracker(callback)
            held.append(callbacks[index])
    return held


def tracker_logs(metrics: dict, statistics: dict) -> dict[str, float]:
    """The run's measurements as flat scalars: baseline/, final/ and delta/ (with its interval) per metric."""
    logs = {}
    for half in ("baseline", "final"):
        for values in metrics[half].values():
            logs |= {f"{half}/{key}": value for key, value in values.items()}
    for per_set in statistics.values():
        for key, stat in per_set.items():
            logs |= {f"delta/{key}": stat["delta"], f"delta/{key}_low": stat["delta_low"]}
            logs[f"delta/{key}_high"] = stat["delta_high"]
    return logs


class HeldTracker(TrainerCallback):
    """A tracker whose end of training waits for the run's final measurement, which comes after the Trainer is done
    (adapters merged, interpolation applied): an ended tracker (mlflow's run, tensorboard's writer) would otherwise
    start a new one for the final metrics. Every other event goes straight to the tracker (set below)."""

    def __init__(self, inner) -> None:
        self.inner, self.ended = inner, None

    def on_train_end(self, args, state, control, **kwargs) -> None:
        self.ended = (args, state, control, kwargs)

    def finish(self, logs: dict[str, float] | None) -> None:
        """Log ``logs`` (None: nothing, the run failed) at the last step, then end the tracker."""
        if self.ended is None:
            return
        args, state, control, kwargs = self.ended
        if logs:
            self.inner.on_log(args, state, control, logs=logs, **kwargs)
        self.inner.on_train_end(args, state, control, **kwargs)
        self.ended = None


def _forward(event: str):
    return lambda self, *args, **kwargs: getattr(self.inner, event)(*args, **kwargs)


for _event in [name for name in vars(TrainerCallback) if name.startswith("on_") and name != "on_train_end"]:
    setattr(HeldTracker, _event, _forward(_event))
