"""A finished run's report.md and report.html: what was run (details), then baseline vs final with intervals."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path

from embedtune.config import RunConfig
from embedtune.evaluation.model_card import base_model_name, write_model_card
from embedtune.evaluation.report import html_report, markdown_report
from embedtune.evaluation.suite import EvalSet, Measurement
from embedtune.modeling.load import resolve_model_path
from embedtune.rundir import write_text_atomic
from embedtune.training.history import read_history


@dataclass
class RunOutcome:
    metrics: dict  # {"baseline": ..., "final": ...}, as in metrics.json
    statistics: dict  # as in statistics.json
    flags: list[str] = field(default_factory=list)  # warnings shown first
    verdict: list[str] = field(default_factory=list)  # one line per eval set, then one per guarded set


def write_run_reports(
    config: RunConfig,
    output_dir: Path,
    eval_sets: list[EvalSet],
    guards: list,
    baseline: Measurement,
    final: Measurement,
    outcome: RunOutcome,
    seconds: float,
    train_rows: int,
    recipe: Path | None = None,
) -> None:
    """report.md and report.html in ``output_dir`` (the HTML also draws history.jsonl, read from there), and the
    embedtune section of model/README.md."""
    import sentence_transformers

    model_path = resolve_model_path(config.model.name)
    details = {
        "model": model_path,
        "strategy": config.strategy.name,
        "loss": config.loss.describe(),
        "train data": str(config.data.train.path),
        "seed": str(config.training.seed),
        "forgetting guard": _guard_detail(config, guards),
        "intervals": f"{config.statistics.confidence:.0%} paired bootstrap, {config.statistics.resamples} resamples"
        if config.statistics.resamples
        else "off",
        "resampling": _resampling_detail(outcome.statistics),
        "wall time": f"{seconds / 60:.1f} min",
        "versions": f"embedtune {_version()}, sentence-transformers {sentence_transformers.__version__}, "
        f"python {platform.python_version()}",
    }
    title = f"embedtune run: {output_dir.name}"
    shared = {"statistics": outcome.statistics, "flags": outcome.flags, "verdict": outcome.verdict}
    shared["confidence"] = config.statistics.confidence
    write_text_atomic(output_dir / "report.md", markdown_report(outcome.metrics, title, details, **shared))
    html = html_report(
        outcome.metrics,
        title,
        details,
        **shared,
        history=read_history(output_dir / "history.jsonl"),
        similarities=_similarities(baseline, final),
        dimension_curves=_dimension_curves(eval_sets, outcome.metrics),
    )
    write_text_atomic(output_dir / "report.html", html)
    card = {
        "base model": base_model_name(config.model.name, model_path),
        "strategy": details["strategy"],
        "loss": details["loss"],
        "training data": f"`{Path(config.data.train.path).name}` ({train_rows:,} rows, rehearsal included)",
        "recipe": (f"`{recipe.name}`, resolved in the run's config.yaml" if recipe else "the run's config.yaml"),
        "forgetting guard": details["forgetting guard"],
    }
    write_model_card(
        output_dir / "model", card, outcome.metrics, outcome.statistics, outcome.verdict, shared["confidence"]
    )


def _resampling_detail(statistics: dict) -> str:
    """Per eval set, what the bootstrap resampled: items, or clusters of pairs sharing a document."""
    found = {name: next(iter(records.values()), {}).get("resampling") for name, records in statistics.items()}
    return "; ".join(f"{name}: {how}" for name, how in found.items() if how) or "none"


def _guard_detail(config: RunConfig, guards: list) -> str:
    if not guards:
        return "OFF (retention.enabled is false)" if not config.retention.enabled else "off (no general set guarded)"

    return "; ".join(f"{g.name} = {g.config.path}, {g.metric} may drop by at most {g.tolerance:g}" for g in guards)


def _similarities(baseline: Measurement, final: Measurement) -> dict:
    """Pair cosines with 0/1 labels, baseline and final, for the report's histograms."""
    found = {}
    for name, items in final.items.items():
        before = baseline.items.get(name, {})
        if {"cosine", "label"} <= set(items) and {"cosine", "label"} <= set(before):
            found[name] = {
                half: {"cosine": source["cosine"], "label": source["label"]}
                for half, source in (("baseline", before), ("final", items))
            }
    return found


def _dimension_curves(eval_sets: list[EvalSet], metrics: dict) -> dict:
    curves = {}
    for eval_set in eval_sets:
        if hasattr(eval_set.evaluator, "dimension_curve"):
            curves[eval_set.name] = {
                half: eval_set.evaluator.dimension_curve(metrics[half][eval_set.name])
                for half in ("baseline", "final")
            }
    return curves


def _version() -> str:
    from embedtune import __version__

    return __version__
