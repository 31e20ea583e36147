"""Train one recipe and keep its baseline-vs-final table in bench/results/<recipe>.md (for README's results).

.venv/bin/python bench/run_recipe.py recipes/demo.yaml [--set key=value ...]
.venv/bin/python bench/run_recipe.py recipes/distill-keep.yaml --from-run RUN [--name NAME]   (a finished run's table)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", type=Path)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--from-run", type=Path, help="tabulate this finished run of the recipe instead of training")
    parser.add_argument("--name", help="results file stem (default: the recipe's)")
    args = parser.parse_args()

    from embedtune.config import load_config
    from embedtune.evaluation.interval import Interval
    from embedtune.evaluation.report import comparison_rows
    from embedtune.pipeline import run_training

    config = load_config(args.recipe, args.overrides)
    if args.from_run is not None:
        result = _finished(args.from_run)
    else:
        result = run_training(config, ROOT / "bench" / "out" / args.recipe.stem, overwrite=True)
    command = " ".join(["embedtune train", str(args.recipe), *(f"--set {o}" for o in args.overrides)])
    lines = [
        f"Command: `{command}` — {config.strategy.name} / {config.loss.name}, "
        f"wall time {result.seconds / 60:.1f} min on 2 CPU cores (baseline and final evaluation included). "
        f"Brackets: {config.statistics.confidence:.0%} paired-bootstrap intervals "
        f"({config.statistics.resamples} resamples); * = the delta interval excludes 0.",
        "",
        "| eval set | metric | untuned | fine-tuned | delta |",
        "|---|---|---:|---:|---:|",
    ]
    for name, metric, before, after, delta in comparison_rows(result.metrics):
        stat = result.statistics.get(name, {}).get(metric)
        if stat is None:
            shown = "–" if delta is None else f"{delta:+.4f}"  # a setting (threshold) has no delta
            lines.append(f"| {name} | {metric} | {before:.4f} | {after:.4f} | {shown} |")
            continue
        star = " *" if stat["excludes_zero"] else ""
        found = {half: Interval.of(stat, half) for half in ("baseline", "final", "delta")}
        ci = {half: f" {i.format(signed=half == 'delta', digits=3)}" if i else "" for half, i in found.items()}
        lines.append(
            f"| {name} | {metric} | {before:.4f}{ci['baseline']} | {after:.4f}{ci['final']} "
            f"| {delta:+.4f}{ci['delta']}{star} |"
        )
    if result.verdict:
        lines += ["", "Verdict:", "", *(f"- `{line}`" for line in result.verdict)]
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    stem = args.name or args.recipe.stem
    (results / f"{stem}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (results / f"{stem}.json").write_text(json.dumps(result.metrics, indent=2), encoding="utf-8")
    print("\n".join(lines))


def _finished(run: Path) -> SimpleNamespace:
    """What run_training returns, read back from a finished run dir."""
    state = json.loads((run / "state.json").read_text())
    if state.get("state") != "done":
        raise SystemExit(f"{run}: not a finished run (state {state.get('state')})")
    return SimpleNamespace(
        metrics=json.loads((run / "metrics.json").read_text()),
        statistics=json.loads((run / "statistics.json").read_text()),
        seconds=state["seconds"],
        verdict=state.get("verdict", []),
    )


if __name__ == "__main__":
    main()
