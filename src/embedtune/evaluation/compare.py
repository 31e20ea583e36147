"""Two models, or many, measured on the same eval sets: side-by-side tables and paired-bootstrap deltas."""

from __future__ import annotations

import numpy as np

from embedtune.config import StatisticsConfig
from embedtune.evaluation.bootstrap import paired_bootstrap
from embedtune.evaluation.suite import EvalSet, Measurement, measure


def compare_models(eval_sets: list[EvalSet], model_a, model_b, settings: StatisticsConfig) -> tuple[dict, dict]:
    """``({"baseline": A's metrics, "final": B's}, paired statistics of B - A)`` on the same resampled items."""
    first, second = measure(eval_sets, model_a), measure(eval_sets, model_b)
    return {"baseline": first.metrics, "final": second.metrics}, paired_statistics(eval_sets, first, second, settings)


def paired_statistics(eval_sets: list[EvalSet], first: Measurement, second: Measurement, settings) -> dict:
    """``{eval set: {prefixed metric: interval record}}`` of second - first; empty when resampling is off."""
    statistics: dict[str, dict] = {}
    if not settings.resamples:
        return statistics
    for eval_set in eval_sets:
        if eval_set.name not in first.items or eval_set.name not in second.items:
            continue
        evaluator = eval_set.evaluator
        groups, how = resampling_groups(evaluator)
        records = paired_bootstrap(
            evaluator,
            first.items[eval_set.name],
            second.items[eval_set.name],
            n_resamples=settings.resamples,
            seed=settings.seed,
            confidence=settings.confidence,
            groups=groups,
        )
        prefix = f"{evaluator.name}_" if evaluator.name else ""
        statistics[eval_set.name] = {
            prefix + metric: {**record, "resampling": how} for metric, record in records.items()
        }
    return statistics


def resampling_groups(evaluator) -> tuple[np.ndarray | None, str]:
    """Pairs built from documents share them (mined pairs, category pairs: one document anchors many pairs), so
    resampling pairs as if independent makes intervals too narrow. When a first text recurs, whole anchors are
    resampled (cluster bootstrap); otherwise items are. Returns the group ids and how it was done, in words."""
    texts = getattr(evaluator, "texts1", None)
    if not texts or len(set(texts)) == len(texts):
        return None, "items"
    codes: dict[str, int] = {}
    groups = np.array([codes.setdefault(text, len(codes)) for text in texts])
    return groups, f"clusters of pairs sharing a first text ({len(codes)} clusters of {len(texts)} pairs)"


def quality_table(columns: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown: one row per (eval set, metric), one column per model."""
    names = list(columns)
    first = columns[names[0]]
    lines = ["| eval set | metric | " + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names)]
    for eval_set, metrics in first.items():
        for metric in metrics:
            cells = [columns[name].get(eval_set, {}).get(metric) for name in names]
            shown = " | ".join("–" if value is None else f"{value:.4f}" for value in cells)
            lines.append(f"| {eval_set} | {metric.removeprefix(eval_set + '_')} | {shown} |")
    return "\n".join(lines) + "\n"
