"""Component weights as a function of training progress (constant, step, linear)."""

from __future__ import annotations

from embedtune.config import WeightSchedule


def weight_at(initial: float, schedule: WeightSchedule, step: int, epoch: float) -> float:
    """The weight after ``step`` optimizer steps and ``epoch`` (fractional) epochs of training."""
    if schedule.kind == "constant":
        return initial
    position = epoch if schedule.unit == "epoch" else float(step)
    if schedule.kind == "step":
        return schedule.to if position >= schedule.start else initial
    progress = (position - schedule.start) / (schedule.end - schedule.start)
    progress = min(max(progress, 0.0), 1.0)
    return initial + (schedule.to - initial) * progress
