"""The report's figures as PNG bytes, drawn with matplotlib's Agg canvas (no pyplot, no display, no global state).

Each ``*_figures`` function returns ``[(title, png bytes), ...]`` and an empty list when it has nothing to draw.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SIZE = (5.0, 3.0)
WIDE = (9.0, 3.0)
DPI = 100
NOT_COMPONENTS = {"kind", "step", "epoch", "seconds", "lr", "grad_norm", "loss"}
NOT_EVAL_METRICS = {
    "kind",
    "step",
    "epoch",
    "seconds",
    "runtime",
    "samples_per_second",
    "steps_per_second",
    "sequential_score",
}
BASELINE_COLOR, FINAL_COLOR = "#7f7f7f", "#1f77b4"
POSITIVE_COLOR, NEGATIVE_COLOR = "#2ca02c", "#d62728"

Series = dict[str, tuple[list[float], list[float]]]


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure(size: tuple[float, float] = SIZE) -> Figure:
    figure = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _style(axes, title: str, xlabel: str, ylabel: str) -> None:
    axes.set_title(title, fontsize=10)
    axes.set_xlabel(xlabel, fontsize=9)
    axes.set_ylabel(ylabel, fontsize=9)
    axes.tick_params(labelsize=8)
    axes.grid(alpha=0.3)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _series(records: Iterable[dict], skip: set[str]) -> Series:
    """``{key: (steps, values)}`` of every finite numeric key of the records, in first-seen key order."""
    series: Series = {}
    for record in records:
        if not _is_number(record.get("step")):
            continue
        for key, value in record.items():
            if key not in skip and _is_number(value):
                steps, values = series.setdefault(key, ([], []))
                steps.append(record["step"])
                values.append(float(value))
    return series


def _of_kind(history: list[dict], kind: str) -> list[dict]:
    return [record for record in history if record.get("kind") == kind]


def _smoothed(values: list[float], weight: float = 0.9) -> list[float]:
    out, current = [], values[0]
    for value in values:
        current = weight * current + (1 - weight) * value
        out.append(current)
    return out


def _plot_noisy(axes, steps: list[float], values: list[float], label: str, color=None) -> None:
    """Raw values faintly, plus an exponential moving average once there are enough points to be noisy."""
    if len(values) < 20:
        axes.plot(steps, values, label=label, color=color, lw=1.4, marker="." if len(values) < 8 else None)
        return
    (raw,) = axes.plot(steps, values, color=color, lw=0.8, alpha=0.3)
    axes.plot(steps, _smoothed(values), label=f"{label} (smoothed)", color=raw.get_color(), lw=1.6)


def _log_if_wide(axes, series: Series) -> None:
    values = [v for _, vs in series.values() for v in vs]
    if values and min(values) > 0 and max(values) / min(values) > 100:
        axes.set_yscale("log")


def loss_figures(history: list[dict]) -> list[tuple[str, bytes]]:
    """Training loss, then every loss component over steps (together, log-scaled when their scales differ)."""
    train = _of_kind(history, "train")
    figures = []
    loss = _series(train, set(NOT_COMPONENTS) - {"loss"}).get("loss")
    if loss:
        figure = _figure()
        axes = figure.add_subplot()
        _plot_noisy(axes, *loss, label="loss")
        _style(axes, "Training loss", "step", "loss")
        axes.legend(fontsize=8, frameon=False)
        figures.append(("Training loss", _png(figure)))
    series = _series(train, NOT_COMPONENTS)
    for title, suffix, ylabel in COMPONENT_VIEWS:
        view = {key.removesuffix(suffix): v for key, v in series.items() if _view_of(key) == suffix}
        if view:
            figures.append((title, _components_png(view, title, ylabel, log=suffix in ("", "_raw"))))
    return figures


#: A composite objective logs each component weighted (its name), raw, with its weight and its share of the total.
COMPONENT_VIEWS = (
    ("Loss components", "", "weighted loss"),
    ("Loss components, raw", "_raw", "loss"),
    ("Component weights", "_weight", "weight"),
    ("Component shares of the total", "_share", "share"),
)


def _view_of(key: str) -> str:
    return next((suffix for _, suffix, _ in COMPONENT_VIEWS[1:] if key.endswith(suffix)), "")


def _components_png(components: Series, title: str, ylabel: str, log: bool) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    for name, (steps, values) in components.items():
        _plot_noisy(axes, steps, values, label=name)
    if log:
        _log_if_wide(axes, components)
    _style(axes, title, "step", ylabel)
    _legend(axes, len(components))
    return _png(figure)


def lr_figures(history: list[dict]) -> list[tuple[str, bytes]]:
    lr = _series(_of_kind(history, "train"), set(NOT_COMPONENTS) - {"lr"}).get("lr")
    if not lr:
        return []
    figure = _figure()
    axes = figure.add_subplot()
    axes.plot(*lr, color="#9467bd", lw=1.6)
    axes.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    _style(axes, "Learning rate", "step", "lr")
    return [("Learning rate", _png(figure))]


def group_metrics(keys: Iterable[str], eval_sets: Iterable[str] = ()) -> dict[str, list[str]]:
    """``{eval set: [metric keys]}``: a key goes to the longest eval-set name it starts with (``name_``), else to
    its own prefix (all but the last ``_`` part), so ten metrics of three sets make three panels, not ten."""
    names = sorted(eval_sets, key=len, reverse=True)
    groups: dict[str, list[str]] = {}
    for key in keys:
        owner = next((name for name in names if key.startswith(name + "_")), None)
        groups.setdefault(owner or (key.rsplit("_", 1)[0] if "_" in key else key), []).append(key)
    return groups


def eval_figures(
    history: list[dict], eval_sets: Iterable[str] = (), baseline: dict[str, dict[str, float]] | None = None
) -> list[tuple[str, bytes]]:
    """One panel per eval set with each of its metrics over steps; the baseline (if given) is drawn at step 0."""
    series = _series(_of_kind(history, "eval"), NOT_EVAL_METRICS)
    if not series:
        return []
    _prepend_baseline(series, baseline or {})
    return [
        (f"Eval: {group}", _eval_png(group, {key: series[key] for key in keys}))
        for group, keys in group_metrics(series, eval_sets).items()
    ]


def _prepend_baseline(series: Series, baseline: dict[str, dict[str, float]]) -> None:
    flat = {key: value for metrics in baseline.values() for key, value in metrics.items()}
    for key, (steps, values) in series.items():
        if _is_number(flat.get(key)) and 0 not in steps:
            steps.insert(0, 0)
            values.insert(0, float(flat[key]))


def _eval_png(group: str, series: Series) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    for key, (steps, values) in series.items():
        label = key.removeprefix(group + "_") or key
        axes.plot(steps, values, label=label, lw=1.4, marker="o" if len(values) <= 30 else None, ms=3)
    _style(axes, f"Eval: {group}", "step (0 = before training)", "value")
    _legend(axes, len(series))
    return _png(figure)


def _legend(axes, count: int) -> None:
    """Inside the axes for a few lines; to the right, outside, when there are so many that it would hide them."""
    if count <= 4:
        axes.legend(fontsize=7, frameon=False)
    else:
        axes.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))


def _split(cosine, label) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Positives and negatives: label 1/0 for binary labels, else scores above/below the middle of their range."""
    cosine, label = np.asarray(cosine, dtype=float), np.asarray(label, dtype=float)
    if set(np.unique(label)) <= {0.0, 1.0}:
        return cosine[label == 1], cosine[label == 0], "positive", "negative"
    middle = round(float(label.min() + label.max()) / 2, 2) if len(label) else 0.0
    return cosine[label >= middle], cosine[label < middle], f"score ≥ {middle:g}", f"score < {middle:g}"


def _histogram(axes, cosine, label, title: str) -> None:
    positives, negatives, pos_name, neg_name = _split(cosine, label)
    bins = np.linspace(-1, 1, 41) if len(cosine) and min(cosine) < 0 else np.linspace(0, 1, 41)
    axes.hist(negatives, bins=bins, alpha=0.55, color=NEGATIVE_COLOR, label=f"{neg_name} (n={len(negatives)})")
    axes.hist(positives, bins=bins, alpha=0.55, color=POSITIVE_COLOR, label=f"{pos_name} (n={len(positives)})")
    _style(axes, title, "cosine similarity", "pairs")
    axes.legend(fontsize=7, frameon=False, loc="upper left")


def similarity_figures(similarities: dict[str, dict[str, dict]]) -> list[tuple[str, bytes]]:
    """Per eval set: baseline and final cosine histograms side by side, positives and negatives overlaid."""
    figures = []
    for name, halves in similarities.items():
        present = [half for half in ("baseline", "final") if halves.get(half) is not None]
        if not present:
            continue
        figure = _figure(WIDE)
        for index, half in enumerate(present, start=1):
            axes = figure.add_subplot(1, len(present), index)
            _histogram(axes, halves[half]["cosine"], halves[half]["label"], f"{name}: {half}")
        figures.append((f"Pair similarities: {name}", _png(figure)))
    return figures


def dimension_figures(curves: dict[str, dict[str, list]]) -> list[tuple[str, bytes]]:
    """Per metric: value against (truncated) embedding dimension, baseline and final."""
    figures = []
    for name, halves in curves.items():
        lines = {half: sorted(halves.get(half) or []) for half in ("baseline", "final")}
        if not any(lines.values()):
            continue
        figures.append((f"Matryoshka dimensions: {name}", _dimension_png(name, lines)))
    return figures


def _dimension_png(name: str, lines: dict[str, list]) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    dims = sorted({dim for points in lines.values() for dim, _ in points})
    for half, color in (("baseline", BASELINE_COLOR), ("final", FINAL_COLOR)):
        if lines[half]:
            xs, ys = zip(*lines[half])
            axes.plot(xs, ys, label=half, color=color, marker="o", ms=4, lw=1.6)
    axes.set_xscale("log", base=2)
    axes.set_xticks(dims, [str(dim) for dim in dims])
    axes.minorticks_off()
    _style(axes, f"Matryoshka: {name}", "embedding dimension", name)
    axes.legend(fontsize=8, frameon=False)
    return _png(figure)
