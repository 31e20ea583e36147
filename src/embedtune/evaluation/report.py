"""Baseline-vs-final report: a Markdown table of every metric and a self-contained HTML version with plots.

Both take optional bootstrap ``statistics`` (intervals at ``confidence``, 95% by default, and a direction-aware
significance mark), ``flags`` (warnings shown first) and ``verdict`` lines (shown before everything).
The HTML also draws, when given, the training ``history``, pair ``similarities`` and Matryoshka ``dimension_curves``
as inline PNG data URIs, so the file opens offline with no external asset.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from embedtune.evaluation import plots
from embedtune.evaluation.interval import Interval
from embedtune.evaluation.verdict import direction, judgement

# A significant gain and a significant loss must not look alike: the mark is in the metric's own direction.
MARKS = {"better": "▲", "worse": "▼"}
SIG_NOTE = (
    "▲ better, ▼ worse: the {level} confidence interval of the delta excludes zero (paired bootstrap), in the "
    "metric's direction; threshold is a setting, not a quality, and gets no delta"
)
HALVES = ("baseline", "final", "delta")


def comparison_rows(metrics: dict) -> list[tuple[str, str, float | None, float | None, float | None]]:
    """(eval set, metric, baseline, final, final - baseline) for every metric in either half."""
    rows = []
    baseline, final = metrics.get("baseline", {}), metrics.get("final", {})
    for name in list(dict.fromkeys([*baseline, *final])):
        before, after = baseline.get(name, {}), final.get(name, {})
        for metric in list(dict.fromkeys([*before, *after])):
            b, a = before.get(metric), after.get(metric)
            delta = a - b if a is not None and b is not None and direction(metric) != 0 else None
            rows.append((name, metric, b, a, delta))
    return rows


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


@dataclass
class Row:
    """One table row: point values, their CI text (empty without statistics) and whether the delta is significant."""

    name: str
    metric: str
    values: dict[str, float | None]
    cis: dict[str, str]
    significant: bool
    mark: str = ""  # MARKS of the judgement, empty when not significant


def _ci(stat: dict, half: str) -> str:
    interval = Interval.of(stat, half)
    return interval.format(signed=half == "delta") if interval is not None else ""


def _mark(metric: str, delta: float | None, stat: dict) -> str:
    return MARKS.get(judgement(metric, delta, stat) or "", "")


def table_rows(metrics: dict, statistics: dict | None = None) -> list[Row]:
    """The comparison rows with, where ``statistics[eval set][metric]`` exists, CIs and the significance flag."""
    rows = []
    for name, metric, b, a, d in comparison_rows(metrics):
        stat = (statistics or {}).get(name, {}).get(metric) or {}
        values = dict(zip(HALVES, (b, a, d)))
        values = {half: value if value is not None else stat.get(half) for half, value in values.items()}
        if direction(metric) == 0:  # a setting: no delta, no interval of one, no mark
            values["delta"], stat = None, {key: v for key, v in stat.items() if not key.startswith("delta")}
        cis = {half: _ci(stat, half) for half in HALVES}
        mark = _mark(metric, values["delta"], stat)
        rows.append(Row(name, metric, values, cis, bool(mark), mark))  # significant: the same test as the mark
    return rows


def _cell_text(row: Row, half: str) -> str:
    text = _fmt(row.values[half], signed=half == "delta")
    return f"{text} {row.cis[half]}" if row.cis[half] else text


def markdown_report(
    metrics: dict,
    title: str,
    details: dict[str, str],
    *,
    statistics: dict | None = None,
    flags: list[str] | None = None,
    verdict: list[str] | None = None,
    confidence: float = 0.95,
) -> str:
    lines = [f"# {title}", ""]
    lines += [f"**{line}**  " for line in verdict or []] + ([""] if verdict else [])
    lines += [f"> **Warning:** {flag}\n" for flag in flags or []]
    lines += [f"- **{key}**: {value}" for key, value in details.items()]
    lines += ["", *_markdown_table(table_rows(metrics, statistics), bool(statistics), f"{confidence:.0%}")]
    return "\n".join(lines) + "\n"


def _markdown_table(rows: list[Row], with_stats: bool, level: str = "95%") -> list[str]:
    if not with_stats:
        lines = ["| eval set | metric | baseline | final | delta |", "|---|---|---:|---:|---:|"]
        return lines + [f"| {r.name} | {r.metric} | {' | '.join(_cell_text(r, h) for h in HALVES)} |" for r in rows]
    lines = [
        f"| eval set | metric | baseline [{level} CI] | final [{level} CI] | delta [{level} CI] | sig. |",
        "|---|---|---:|---:|---:|:---:|",
    ]
    for r in rows:
        cells = " | ".join(_cell_text(r, h) for h in HALVES)
        lines.append(f"| {r.name} | {r.metric} | {cells} | {r.mark} |")
    return lines + ["", SIG_NOTE.format(level=level)]


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.92em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,td:nth-child(2),th:first-child,th:nth-child(2){text-align:left}
.up{color:#070}.down{color:#a00}.ci{color:#777;font-size:.85em;white-space:nowrap}.sig{font-weight:bold}
.note{color:#666;font-size:.85em}
.verdict{font-size:1.08em;font-weight:600;list-style:none;padding-left:0}
.flags{background:#fff4e5;border:1px solid #f0a030;border-left:6px solid #e07b00;padding:.6em 1em;margin:1em 0}
.flags ul{margin:.3em 0 0 0;padding-left:1.4em}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots figure{margin:0}.plots img{max-width:100%;height:auto;
border:1px solid #eee}
"""


def html_report(
    metrics: dict,
    title: str,
    details: dict[str, str],
    *,
    statistics: dict | None = None,
    flags: list[str] | None = None,
    history: list[dict] | None = None,
    similarities: dict | None = None,
    dimension_curves: dict | None = None,
    verdict: list[str] | None = None,
    confidence: float = 0.95,
) -> str:
    """One file, no external assets, so it opens offline. Every optional part is left out when absent."""
    body = [
        f"<h1>{html.escape(title)}</h1>",
        _html_verdict(verdict or []),
        _html_flags(flags or []),
        _html_details(details),
        "<h2>Metrics</h2>",
        _html_table(table_rows(metrics, statistics), bool(statistics), f"{confidence:.0%}"),
        *_html_plot_sections(metrics, history or [], similarities or {}, dimension_curves or {}),
    ]
    head = f"<meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style>"
    return f"<!doctype html><html><head>{head}</head><body>{''.join(body)}</body></html>\n"


def _html_verdict(lines: list[str]) -> str:
    items = "".join(f"<li class='{_verdict_class(line)}'>{html.escape(line)}</li>" for line in lines)
    return f"<ul class='verdict'>{items}</ul>" if lines else ""


def _verdict_class(line: str) -> str:
    if ": worse:" in line or "FORGOT" in line or ": OFF" in line:
        return "down"
    return "up" if ": better:" in line else ""


def _html_flags(flags: list[str]) -> str:
    if not flags:
        return ""
    items = "".join(f"<li>{html.escape(flag)}</li>" for flag in flags)
    noun = "warning" if len(flags) == 1 else "warnings"
    return f"<div class='flags' role='alert'><b>&#9888; {len(flags)} {noun}</b><ul>{items}</ul></div>"


def _html_details(details: dict[str, str]) -> str:
    items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in details.items())
    return f"<ul>{items}</ul>"


def _html_cell(row: Row, half: str) -> str:
    text = _fmt(row.values[half], signed=half == "delta")
    ci = f" <span class='ci'>{row.cis[half]}</span>" if row.cis[half] else ""
    if half != "delta":
        return f"<td>{text}{ci}</td>"
    delta = (row.values["delta"] or 0) * direction(row.metric)
    return f"<td class='{'up' if delta > 0 else 'down' if delta < 0 else ''}'>{text}{ci}</td>"


def _html_table(rows: list[Row], with_stats: bool, level: str = "95%") -> str:
    ci = f" [{level} CI]" if with_stats else ""
    head = "".join(f"<th>{h}{ci}</th>" for h in HALVES) + ("<th>sig.</th>" if with_stats else "")
    body = "".join(_html_row(row, with_stats, level) for row in rows)
    table = f"<table><tr><th>eval set</th><th>metric</th>{head}</tr>{body}</table>"
    return table + (f"<p class='note'>{html.escape(SIG_NOTE.format(level=level))}</p>" if with_stats else "")


def _html_row(row: Row, with_stats: bool, level: str = "95%") -> str:
    cells = "".join(_html_cell(row, half) for half in HALVES)
    if with_stats:
        title = f"{'better' if row.mark == MARKS['better'] else 'worse'}: {level} CI excludes zero"
        mark = f"<span class='sig {'up' if row.mark == MARKS['better'] else 'down'}' title='{title}'>{row.mark}</span>"
        mark = mark if row.mark else ""
        cells += f"<td style='text-align:center'>{mark}</td>"
    return f"<tr><td>{html.escape(row.name)}</td><td>{html.escape(row.metric)}</td>{cells}</tr>"


def _html_plot_sections(metrics: dict, history: list[dict], similarities: dict, curves: dict) -> list[str]:
    eval_sets = [*metrics.get("baseline", {}), *metrics.get("final", {})]
    sections = [
        ("Training", plots.loss_figures(history) + plots.lr_figures(history)),
        ("Evaluation during training", plots.eval_figures(history, eval_sets, metrics.get("baseline"))),
        ("Pair similarity: baseline vs final", plots.similarity_figures(similarities)),
        ("Matryoshka dimensions", plots.dimension_figures(curves)),
    ]
    return [_html_plot_section(heading, figures) for heading, figures in sections if figures]


def _html_plot_section(heading: str, figures: list[tuple[str, bytes]]) -> str:
    images = "".join(
        f"<figure><img src='{plots.data_uri(png)}' alt='{html.escape(title, quote=True)}'></figure>"
        for title, png in figures
    )
    return f"<section><h2>{html.escape(heading)}</h2><div class='plots'>{images}</div></section>"
