"""Whether the tuned model is better, in words: one line per eval set on its primary metric, then the forgetting check.

"better" and "worse" need the paired-bootstrap interval of the delta to exclude zero, in the metric's own direction;
otherwise the line says "no clear difference". A metric with no interval (isotropy, intervals off) says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from embedtune.evaluation.interval import Interval

if TYPE_CHECKING:
    from embedtune.config import RetentionConfig
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


def run_verdict(targets, metrics: dict, statistics: dict, retention: dict) -> list[str]:
    """``targets``: the user's eval sets (name, evaluator); ``retention``: ``{"off": why}`` or
    ``{"name", "label", "check"}`` (a :class:`~embedtune.evaluation.retention.RetentionCheck`)."""
    lines = [_eval_line(target.name, target.evaluator.primary_metric, metrics, statistics) for target in targets]
    return [*lines, forgetting_line(retention, statistics)]


def _eval_line(name: str, metric: str, metrics: dict, statistics: dict) -> str:
    before, after = metrics["baseline"][name].get(metric), metrics["final"][name].get(metric)
    stat = statistics.get(name, {}).get(metric)
    short = metric.removeprefix(f"{name}_")
    if before is None or after is None:
        return f"{name}: {short} not measured"
    delta = after - before
    word = judgement(metric, delta, stat) or ("higher" if delta > 0 else "lower") + " (no interval)"
    return f"{name}: {word}: {short} {delta:+.4f}{_interval(stat)} ({before:.4f} -> {after:.4f})"


def retention_view(settings: RetentionConfig, name: str | None, check: RetentionCheck | None) -> dict:
    """What the verdict says of the forgetting guard, for :func:`run_verdict`: why it is off, or which set
    (``name``) it watched."""
    if not settings.enabled:
        return {"off": "retention.enabled is false: general semantics were not checked"}
    if name is None or check is None:
        return {"off": "no STS-B dev under ../shared/data; set retention.data to a general-semantics set"}
    path = Path(settings.data.path) if settings.data is not None else None
    label = "/".join(path.parts[-2:]) if path is not None else name
    return {"name": name, "label": label, "check": check}


def forgetting_line(retention: dict, statistics: dict) -> str:
    if "off" in retention:
        return f"forgetting check: OFF ({retention['off']})"
    check, name = retention["check"], retention["name"]
    short = check.metric.removeprefix(f"{name}_")
    stat = statistics.get(name, {}).get(check.metric)
    change = f"{short} {-check.drop:+.4f}{_interval(stat)}"
    if check.forgot:
        return f"forgetting check, {name} ({retention['label']}): FORGOT: {change}, beyond {check.tolerance:g}"
    return f"forgetting check, {name} ({retention['label']}): {change}, within {check.tolerance:g}"


def _interval(stat: dict | None) -> str:
    """`` [+0.0500, +0.0700]`` after a delta, or nothing without an interval."""
    interval = Interval.of(stat)
    return f" {interval}" if interval is not None else ""
