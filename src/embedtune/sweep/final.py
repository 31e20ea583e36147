"""``embedtune sweep ... --final``: the number to report. The best trial's values and the recipe's own defaults are
each trained once more at the full budget (the space's ``trial:`` settings left out), then both models are measured
on the space's ``test`` suite, which no trial saw, with the paired-bootstrap interval of best minus defaults.

Each run goes to ``<sweep>/final/{best,defaults}``; a finished one of the same values is kept, so rerunning trains
only what is missing or changed (after more trials the best may be another trial).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from embedtune.config import StatisticsConfig, config_from_raw, load_suite
from embedtune.errors import ConfigError
from embedtune.rundir import read_state, write_text_atomic
from embedtune.sweep.report import best_trial
from embedtune.sweep.space import apply_values, values_of
from embedtune.sweep.study import Sweep, load_study

logger = logging.getLogger("embedtune")


@dataclass
class Final:
    metrics: dict  # {"baseline": defaults' test metrics, "final": best's}
    statistics: dict  # paired bootstrap of best - defaults
    values: dict  # the best trial's values
    trial: int


def run_final(sweep: Sweep, space_path: Path) -> Final:
    from embedtune.evaluation.compare import compare_models
    from embedtune.evaluation.suite import load_eval_sets
    from embedtune.modeling.load import load_model
    from embedtune.pipeline import run_training

    if sweep.space.test is None:
        raise ConfigError(f"{space_path}: --final needs 'test: SUITE.yaml', the eval sets no trial sees")
    suite = (space_path.parent / sweep.space.test).resolve()
    eval_sets = load_eval_sets(load_suite(suite))  # a bad suite fails before any training
    best = best_trial(load_study(sweep))
    if best is None:
        raise ConfigError(f"{sweep.output_dir}: no completed trial kept every guarded set; nothing to train")
    values = values_of(sweep.space, best.params)
    runs, baselines = {}, {}  # one untrained model: its baseline is measured once for both runs
    for name, chosen in (("best", values), ("defaults", {})):  # best first: the run to report if cut short
        run_dir = sweep.output_dir / "final" / name
        runs[name] = run_dir
        raw = apply_values(sweep.config_raw, {**chosen, "output_dir": str(run_dir)}, f"final {name}")
        config = config_from_raw(raw, sweep.config_path, source=f"final {name}")
        if _trained(run_dir, config):
            logger.info("final: keeping %s, trained before with these values", run_dir)
            continue
        run_training(config, run_dir, overwrite=True, baselines=baselines)
    settings = StatisticsConfig(resamples=1000, seed=0)
    models = [load_model(str(runs[name] / "model")) for name in ("defaults", "best")]
    metrics, statistics = compare_models(eval_sets, *models, settings)
    final = Final(metrics, statistics, values, best.number)
    _write(final, sweep.output_dir / "final", suite)
    return final


def _trained(run_dir: Path, config) -> bool:
    """A finished run of exactly this config (after more trials the best may be another one: that one is trained)."""
    from embedtune.config import load_run_config, run_changes

    if read_state(run_dir) != "done":  # metrics.json is written before the reports: a run killed there is redone
        return False
    changed = run_changes(load_run_config(run_dir), config)
    if changed:
        logger.info("final: %s was trained with other values (%s); training it again", run_dir, ", ".join(changed))
    return not changed


def _write(final: Final, out: Path, suite: Path) -> None:
    from embedtune.evaluation.interval import Interval
    from embedtune.evaluation.report import comparison_rows

    record = {"trial": final.trial, "values": final.values, "suite": str(suite), **final.metrics}
    write_text_atomic(out / "metrics.json", json.dumps(record, indent=2, default=str) + "\n")
    write_text_atomic(out / "statistics.json", json.dumps(final.statistics, indent=2) + "\n")
    lines = [
        f"Best trial {final.trial} ({', '.join(f'{k}={v}' for k, v in final.values.items())}) against the recipe's",
        f"defaults, both trained at the full budget, on {suite.name} (no trial saw it). Delta = best - defaults,",
        "95% paired-bootstrap interval.",
        "",
        "| eval set | metric | defaults | best | delta | interval |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, metric, a, b, delta in comparison_rows(final.metrics):
        interval = Interval.of(final.statistics.get(name, {}).get(metric))
        cells = [f"{v:.4f}" if v is not None else "-" for v in (a, b)]
        shown = f"{delta:+.4f}" if delta is not None else "-"
        lines.append(f"| {name} | {metric} | {cells[0]} | {cells[1]} | {shown} | {interval or ''} |")
    write_text_atomic(out / "comparison.md", "\n".join(lines) + "\n")
