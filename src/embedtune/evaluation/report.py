"""Baseline-vs-final report: a Markdown table of every metric and a self-contained HTML version."""

from __future__ import annotations

import html


def comparison_rows(metrics: dict) -> list[tuple[str, str, float | None, float | None, float | None]]:
    """(eval set, metric, baseline, final, final - baseline) for every metric in either half."""
    rows = []
    baseline, final = metrics.get("baseline", {}), metrics.get("final", {})
    for name in list(dict.fromkeys([*baseline, *final])):
        before, after = baseline.get(name, {}), final.get(name, {})
        for metric in list(dict.fromkeys([*before, *after])):
            b, a = before.get(metric), after.get(metric)
            delta = a - b if a is not None and b is not None else None
            rows.append((name, metric, b, a, delta))
    return rows


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def markdown_report(metrics: dict, title: str, details: dict[str, str]) -> str:
    lines = [f"# {title}", ""]
    lines += [f"- **{key}**: {value}" for key, value in details.items()]
    lines += ["", "| eval set | metric | baseline | final | delta |", "|---|---|---:|---:|---:|"]
    for name, metric, b, a, delta in comparison_rows(metrics):
        lines.append(f"| {name} | {metric} | {_fmt(b)} | {_fmt(a)} | {_fmt(delta, signed=True)} |")
    return "\n".join(lines) + "\n"


def html_report(metrics: dict, title: str, details: dict[str, str]) -> str:
    """One file, no external assets, so it opens offline."""
    items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in details.items())
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(m)}</td><td>{_fmt(b)}</td><td>{_fmt(a)}</td>"
        f"<td class='{'up' if (d or 0) > 0 else 'down' if (d or 0) < 0 else ''}'>{_fmt(d, signed=True)}</td></tr>"
        for n, m, b, a, d in comparison_rows(metrics)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:right}td:first-child,td:nth-child(2){text-align:left}.up{color:#070}"
        ".down{color:#a00}</style></head><body><h1>" + html.escape(title) + "</h1><ul>" + items + "</ul>"
        "<table><tr><th>eval set</th><th>metric</th><th>baseline</th><th>final</th><th>delta</th></tr>"
        + rows + "</table></body></html>\n"
    )
