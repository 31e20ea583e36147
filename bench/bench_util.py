"""What the benchmarks share: step times from a run's history.jsonl, and writing a results table."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def train_seconds(run: Path) -> dict[int, tuple[float, float]]:
    """``step -> (epoch, seconds since training began)`` of every train record of the run's history."""
    records = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    return {r["step"]: (r["epoch"], r["seconds"]) for r in records if r["kind"] == "train"}


def seconds_per_step(run: Path, warm_up: int = 10) -> float:
    """Mean wall seconds of a step, the first ``warm_up`` steps left out."""
    times = {step: seconds for step, (_, seconds) in train_seconds(run).items() if step > warm_up}
    first, last = min(times), max(times)
    return (times[last] - times[first]) / (last - first)


def epoch_seconds(run: Path, epochs: int) -> list[float]:
    """Wall seconds of each epoch, from the train records' ``seconds`` at the epoch boundaries."""
    times = train_seconds(run).values()
    ends = [max(seconds for epoch, seconds in times if epoch <= k + 1e-9) for k in range(1, epochs + 1)]
    return [ends[0], *(b - a for a, b in zip(ends, ends[1:]))]


def write_result(stem: str, lines: list[str]) -> None:
    """Print the table and keep it as bench/results/<stem>.md (docs/results.md is built from those)."""
    text = "\n".join(lines)
    print(text)
    (RESULTS / f"{stem}.md").write_text(text + "\n", encoding="utf-8")
