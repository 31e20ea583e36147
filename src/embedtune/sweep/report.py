"""What a sweep leaves in its dir: trials.csv / trials.md, best.yaml (the best trial's config, runnable as is) and
report.html (optimisation history, parameter importances, the metric against each parameter).

The best trial is the best *feasible* one: completed, and no guarded set dropped beyond its tolerance.
"""

from __future__ import annotations

import csv
import html
import io
import logging
import math
from pathlib import Path

from embedtune.evaluation.plots import _figure, _png, _style, data_uri
from embedtune.rundir import write_text_atomic

logger = logging.getLogger("embedtune")


def trial_rows(study) -> list[dict]:
    """One row per trial: number, state, value, retention drop, seconds, each parameter, and why it failed."""
    params = list(dict.fromkeys(name for t in study.get_trials(deepcopy=False) for name in t.params))
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        row = {
            "trial": t.number,
            "state": t.state.name.lower(),
            "value": t.value,
            "retention_drop": attrs.get("retention_drop"),
            "kept_guard": None if "over_tolerance" not in attrs else attrs["over_tolerance"] <= 0,
            "seconds": attrs.get("seconds"),
        }
        row.update({name: t.params.get(name) for name in params})
        row["reason"] = attrs.get("reason", "")
        rows.append(row)
    return rows


def best_trial(study):
    """The best completed trial that kept every guarded set; None when there is none."""
    from optuna.trial import TrialState

    feasible = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get("over_tolerance", 0.0) <= 0 and t.value is not None and math.isfinite(t.value)
    ]
    if not feasible:
        return None
    sign = 1 if study.direction.name == "MAXIMIZE" else -1
    return max(feasible, key=lambda t: (sign * t.value, -t.number))


def write_outputs(study, sweep) -> None:
    rows = trial_rows(study)
    best = best_trial(study)
    output_dir = sweep.output_dir
    write_text_atomic(output_dir / "trials.csv", _csv(rows))
    write_text_atomic(output_dir / "trials.md", _markdown(rows, best))
    if best is not None:
        write_text_atomic(output_dir / "best.yaml", _best_yaml(best, sweep))
    write_text_atomic(output_dir / "report.html", _html(study, rows, best))


def _best_yaml(best, sweep) -> str:
    """The best trial's resolved config: the one its run saved, or (a trial another machine ran) the same rebuilt."""
    from embedtune.config.loading import dump_config
    from embedtune.sweep.space import values_of
    from embedtune.sweep.study import trial_config

    header = f"# best trial {best.number}: {best.user_attrs.get('metric')} = {best.value:.4f}; run it with\n"
    saved = Path(best.user_attrs.get("run", "")) / "config.yaml"
    if saved.is_file():
        config = saved.read_text(encoding="utf-8")
    else:
        header += f"# (rebuilt from the sweep's config and space: the trial ran on {best.user_attrs.get('worker')})\n"
        config = dump_config(trial_config(sweep, best.number, values_of(sweep.space, best.params)))
    return header + "# embedtune train best.yaml -o runs/best\n" + config


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _markdown(rows: list[dict], best) -> str:
    if not rows:
        return "(no trials yet)\n"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        mark = " (best)" if best is not None and row["trial"] == best.number else ""
        cells = [_format(row[c]) + (mark if c == "trial" else "") for c in columns]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _html(study, rows: list[dict], best) -> str:
    figures = [("Optimisation history", _history_png(study, rows))]
    importances = _importances(study)
    if importances:
        figures.append(("Parameter importances (fANOVA, completed trials)", _importance_png(importances)))
    figures += [(f"Metric against {name}", _param_png(study, name)) for name in _param_names(rows)]
    summary = (
        f"best trial {best.number}: {html.escape(str(best.user_attrs.get('metric')))} = {best.value:.4f}"
        if best is not None
        else "no completed trial kept every guarded set"
    )
    table = _markdown(rows, best)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>embedtune sweep</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}img{max-width:100%}</style></head><body>",
        f"<h1>Sweep {html.escape(study.study_name)}</h1><p>{len(rows)} trials; {summary}.</p>",
    ]
    parts += [
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' src='{data_uri(png)}'>"
        for title, png in figures
    ]
    parts += ["<h2>Trials</h2><pre>", html.escape(table), "</pre></body></html>"]
    return "\n".join(parts)


def _param_names(rows: list[dict]) -> list[str]:
    fixed = {"trial", "state", "value", "retention_drop", "kept_guard", "seconds", "reason"}
    return [name for name in (rows[0] if rows else {}) if name not in fixed]


def _completed(study):
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]


def _history_png(study, rows) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    done = _completed(study)
    kept = [t for t in done if t.user_attrs.get("over_tolerance", 0.0) <= 0]
    forgot = [t for t in done if t.user_attrs.get("over_tolerance", 0.0) > 0]
    axes.scatter([t.number for t in kept], [t.value for t in kept], s=14, label="kept every guarded set")
    axes.scatter([t.number for t in forgot], [t.value for t in forgot], s=14, marker="x", label="forgot")
    sign = 1 if study.direction.name == "MAXIMIZE" else -1
    best, line = None, []
    for t in sorted(kept, key=lambda t: t.number):
        best = t.value if best is None or sign * t.value > sign * best else best
        line.append((t.number, best))
    if line:
        axes.step(*zip(*line), where="post", color="black", linewidth=1, label="best so far")
    _style(axes, "Trials", "trial", done[0].user_attrs.get("metric", "value") if done else "value")
    axes.legend(fontsize=7)
    return _png(figure)


def _importances(study) -> dict[str, float]:
    import optuna

    if len(_completed(study)) < 3:
        return {}
    try:
        return optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError) as error:  # e.g. a parameter that never varied among completed trials
        logger.info("sweep: no parameter importances (%s)", error)
        return {}


def _importance_png(importances: dict[str, float]) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    names = list(importances)[::-1]
    axes.barh(names, [importances[n] for n in names])
    _style(axes, "Importance", "share of the metric's variance", "")
    return _png(figure)


def _param_png(study, name: str) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    points = [(t.params[name], t.value) for t in _completed(study) if name in t.params]
    if points:
        numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x, _ in points)
        xs = [x if numbers else str(x) for x, _ in points]  # matplotlib cannot mix numbers and labels on one axis
        axes.scatter(xs, [v for _, v in points], s=14)
        if all(isinstance(x, (int, float)) and x > 0 for x in xs) and max(xs) / min(xs) >= 20:
            axes.set_xscale("log")
    _style(axes, name, name, "value")
    return _png(figure)
