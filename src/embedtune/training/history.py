"""A callback writing every log event to history.jsonl as it happens (so a crash keeps the history so far)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from transformers import TrainerCallback

RENAMED = {"learning_rate": "lr"}
DROPPED = {"total_flos", "train_runtime", "train_samples_per_second", "train_steps_per_second"}
#: Fields every record may hold besides the metrics; a logged name equal to one would overwrite it.
RECORD_FIELDS = frozenset({"kind", "step", "epoch", "seconds", "loss", "lr", "learning_rate", "grad_norm", "phase"})


class HistoryCallback(TrainerCallback):
    """One JSON object per logged step: ``{"kind": "train", "step", "epoch", "seconds", "lr", "loss", ...}``.

    Evaluations are logged as ``{"kind": "eval", "step", "epoch", <metric>...}``. Only the main process writes.
    """

    def __init__(self, path: Path, phase_at_step=None, extra_fields=None) -> None:
        self.path = Path(path)
        self.started = time.monotonic()  # records carry seconds since training (or this resumed session) began
        self.phase_at_step = phase_at_step  # curriculum runs: step -> phase name, recorded on train records
        self.extra_fields = extra_fields  # composite losses: () -> raw value, weight and share of each component

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        is_eval = any(key.startswith("eval_") for key in logs)
        record = {"kind": "eval" if is_eval else "train", "step": state.global_step, "epoch": state.epoch}
        record["seconds"] = round(time.monotonic() - self.started, 3)
        for key, value in logs.items():
            if key in DROPPED or key == "epoch" or not isinstance(value, (int, float)):
                continue
            name = key.removeprefix("eval_") if is_eval else RENAMED.get(key, key)
            record[name] = float(value) if math.isfinite(value) else str(value)
        if "train_loss" in record and "loss" not in record:
            record["kind"] = "summary"
        if self.phase_at_step is not None and record["kind"] == "train":
            record["phase"] = self.phase_at_step(state.global_step)
        if self.extra_fields is not None and record["kind"] == "train":
            record.update(self.extra_fields())
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def read_history(path: Path) -> list[dict]:
    """The records; a last line cut short (a kill during its write) is dropped: a resumed run replays that step."""
    if not path.exists():
        return []
    lines = [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number < len(lines):
                raise
    return records


class StepCounter(TrainerCallback):
    """Remembers how far training got, so an interrupted run can say so."""

    def __init__(self) -> None:
        self.step, self.max_steps, self.epoch = 0, 0, 0.0

    def on_step_end(self, args, state, control, **kwargs):
        self.step, self.max_steps, self.epoch = state.global_step, state.max_steps, state.epoch or 0.0


class SkipFinalEvaluation(TrainerCallback):
    """The run measures the final model itself (with per-item scores for intervals), so the trainer's own
    evaluation at the last step would do the same work twice. Used only when no checkpoint is selected on it."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_evaluate = False

    on_epoch_end = on_step_end


def append_eval_record(path: Path, step: int, epoch: float, metrics: dict[str, dict[str, float]]) -> None:
    """The final measurement as the history's last eval record (the trainer's own final evaluation is skipped)."""
    record = {"kind": "eval", "step": step, "epoch": epoch}
    for values in metrics.values():
        record.update({key: float(value) for key, value in values.items()})
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
