"""Two models, or many, measured on the same eval sets: side-by-side tables and paired-bootstrap deltas."""

from __future__ import annotations

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
        records = paired_bootstrap(
            evaluator,
            first.items[eval_set.name],
            second.items[eval_set.name],
            n_resamples=settings.resamples,
            seed=settings.seed,
            confidence=settings.confidence,
        )
        prefix = f"{evaluator.name}_" if evaluator.name else ""
        statistics[eval_set.name] = {prefix + metric: record for metric, record in records.items()}
    return statistics


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
