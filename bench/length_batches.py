"""IT tickets: length-grouped batches against random batches, same data, loss, seed and steps.

    .venv/bin/python bench/length_batches.py [--steps 60]     (~15 min alone on 2 CPU cores)

Mines the tickets as `embedtune mine` does (default settings; the 20% held-out documents are never trained on), then
trains all-MiniLM-L6-v2 twice with group_mnrl at max_seq_length 128, batch 32: once with random batches, once with
``training.group_by_length``. Prints the mean step time of each (history.jsonl's seconds, the first 10 steps left out
as warm-up), their ratio, and the held-out kNN accuracy and pair ROC-AUC either way; writes
bench/results/length_batches.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

from bench_util import seconds_per_step, write_result

ROOT = Path(__file__).resolve().parent.parent
TICKETS = ROOT.parent / "shared" / "data" / "it_tickets" / "tickets.tsv"
OUT = ROOT / "bench" / "out" / "length_batches"


def mined() -> Path:
    folder = OUT / "mined"
    if not (folder / "config.yaml").exists():
        command = [sys.executable, "-m", "embedtune", "mine", str(TICKETS), "-o", str(folder), "--overwrite"]
        subprocess.run(command, check=True, capture_output=True)
    return folder


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    import torch
    import yaml

    from embedtune.config import parse_config
    from embedtune.pipeline import run_training

    torch.set_num_threads(2)
    folder = mined()
    starter = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    rows = {}
    for grouped in (False, True):
        raw = {
            "model": {"name": "default", "max_seq_length": 128},
            "loss": {"name": "group_mnrl"},
            "data": {
                "train": {**starter["data"]["train"], "columns": {"label": "label", "group": "category"}},
                "eval": starter["data"]["eval"],
            },
            "training": {
                "lr": 1e-4,
                "batch_size": 32,
                "max_steps": args.steps,
                "eval_steps": 10 * args.steps,  # no evaluation inside the timed steps; the final one follows
                "logging_steps": 1,
                "warmup_ratio": 0.1,
                "group_by_length": grouped,
                "seed": 42,
            },
            "retention": {"enabled": False},  # step times and the ticket metrics only
        }
        for spec in [raw["data"]["train"], *raw["data"]["eval"]]:  # the starter's paths are relative to it
            for key in ("path", "index"):
                if spec.get(key):
                    spec[key] = str((folder / spec[key]).resolve())
        result = run_training(parse_config(raw), OUT / ("grouped" if grouped else "random"), overwrite=True)
        rows[grouped] = (seconds_per_step(result.output_dir), result.metrics["final"])
    lines = [
        f"Command: `.venv/bin/python bench/length_batches.py --steps {args.steps}` on {os.cpu_count()} CPU cores "
        f"({platform.processor() or platform.machine()}), torch threads 2, runs one after the other.",
        "",
        "| batches | s / step | held-out metrics (final) |",
        "|---|---:|---|",
    ]
    for grouped, (seconds, final) in rows.items():
        shown = ", ".join(f"{k} {v:.4f}" for values in final.values() for k, v in values.items() if _headline(k))
        lines.append(f"| {'length-grouped' if grouped else 'random'} | {seconds:.3f} | {shown} |")
    lines += ["", f"Step time, random / length-grouped: {rows[False][0] / rows[True][0]:.2f}x."]
    write_result("length_batches", lines)


def _headline(key: str) -> bool:
    return key.endswith(("_accuracy", "_roc_auc", "_macro_f1")) and "threshold" not in key


if __name__ == "__main__":
    main()
