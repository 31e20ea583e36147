"""Whether the tuned model is better, in words: one line per eval set on its primary metric, then one per guarded set.

"better" and "worse" need the paired-bootstrap interval of the delta to exclude zero, in the metric's own direction;
otherwise the line says "no clear difference". A metric with no interval (isotropy, intervals off) says so.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from embedtune.evaluation.interval import Interval

if TYPE_CHECKING:
    from embedtune.evaluation.retention import RetentionCheck

# Metrics where lower is better, by their unprefixed name; "threshold" is a setting, not a quality.
LOWER_IS_BETTER = ("overlap", "neg_mean", "mean_cosine")
SETTINGS = ("threshold",)


def direction(metric: str) -> int:
    """+1 when higher is better, -1 when lower is better, 0 for a setting (no delta, no significance)."""
    if metric.endswith(SETTINGS):
        return 0
    return -1 if metric.endswith(LOWER_IS_BETTER) else 1


def judgement(metric: str, delta: float | None, stat: dict | None) -> str | None:
    """``better`` / ``worse`` (interval excludes zero), ``no clear difference``, or None without an interval."""
    sign = direction(metric)
    interval = Interval.of(stat)
    if sign == 0 or delta is None or interval is None:
        return None
    rising, falling = interval.low > 0, interval.high < 0  # the interval decides, not the point
    if not (rising or falling):
        return "no clear difference"
    return "better" if (1 if rising else -1) * sign > 0 else "worse"


def run_verdict(targets, metrics: dict, statistics: dict, forgetting: list[str]) -> list[str]:
    """``targets``: the user's eval sets (name, evaluator); ``forgetting``: the guard's lines
    (:func:`forgetting_lines`)."""
    lines = [_eval_line(target.name, target.evaluator.primary_metric, metrics, statistics) for target in targets]
    return [*lines, *forgetting]


def _eval_line(name: str, metric: str, metrics: dict, statistics: dict) -> str:
    before, after = metrics["baseline"][name].get(metric), metrics["final"][name].get(metric)
    stat = statistics.get(name, {}).get(metric)
    short = metric.removeprefix(f"{name}_")
    if before is None or after is None:
        return f"{name}: {short} not measured"
    delta = after - before
    word = judgement(metric, delta, stat) or _unjudged(delta) + " (no interval)"
    return f"{name}: {word}: {short} {delta:+.4f}{_interval(stat)} ({before:.4f} -> {after:.4f})"


def _unjudged(delta: float) -> str:
    """The direction of a change without an interval; a NaN (a collapsed model) or no change is not 'lower'."""
    if not math.isfinite(delta):
        return "undefined (NaN)"
    return "higher" if delta > 0 else "lower" if delta < 0 else "unchanged"


def forgetting_lines(checks: list[RetentionCheck], statistics: dict, off: str | None = None) -> list[str]:
    """One line per guarded set, its change with its interval against its tolerance; one OFF line, saying why,
    when nothing was guarded."""
    if not checks:
        return [f"forgetting check: OFF ({off or 'nothing guarded'})"]
    return [forgetting_line(check, statistics) for check in checks]


def forgetting_line(check: RetentionCheck, statistics: dict) -> str:
    name = check.eval_set
    short = check.metric.removeprefix(f"{name}_")
    stat = statistics.get(name, {}).get(check.metric)
    change = f"{short} {check.final - check.baseline:+.4f}{_interval(stat)}"
    where = f"{name} ({check.label})" if check.label else name
    if check.forgot:
        return f"forgetting check, {where}: FORGOT: {change}, beyond {check.tolerance:g}"
    return f"forgetting check, {where}: {change}, within {check.tolerance:g}"


def _interval(stat: dict | None) -> str:
    """`` [+0.0500, +0.0700]`` after a delta, or nothing without an interval."""
    interval = Interval.of(stat)
    return f" {interval}" if interval is not None else ""
