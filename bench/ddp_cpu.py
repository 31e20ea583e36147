"""2 processes (DDP, gloo) against 1 on the same CPU cores, the same effective batch, data, seed and steps.

    .venv/bin/python bench/ddp_cpu.py [--steps 200]     (~12 min alone on 2 CPU cores)

Trains all-MiniLM-L6-v2 on ../shared/data/stsb/train.tsv with the cosine loss: once as 1 process of batch 32 with
2 torch threads, once through torchrun as 2 processes of batch 16 with 1 thread
each. Prints training pairs/s of each (history.jsonl's seconds, first 10 steps left out), the ratio, and the final
STS-B dev Spearman either way; writes bench/results/ddp_cpu.md. On a CPU the two processes share the same cores, so
the ratio says what DDP's communication costs, not what a second machine would add.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

import yaml
from bench_util import seconds_per_step, write_result

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "stsb"
OUT = ROOT / "bench" / "out" / "ddp_cpu"


def config(batch: int, steps: int) -> dict:
    stsb = {"columns": {"label": "score"}, "score_range": [0, 5]}
    return {
        "model": {"name": "default", "max_seq_length": 128},
        "loss": {"name": "cosine"},
        "data": {
            "train": {"path": str(DATA / "train.tsv"), **stsb},
            "eval": [{"name": "stsb_dev", "path": str(DATA / "dev.tsv"), "task": "sts", **stsb}],
        },
        "training": {"lr": 2e-5, "batch_size": batch, "max_steps": steps, "logging_steps": 1, "seed": 42},
        "retention": {"enabled": False},  # throughput and STS-B dev only
    }


def run(processes: int, steps: int) -> tuple[float, float]:
    out = OUT / f"processes-{processes}"
    path = OUT / f"processes-{processes}.yaml"
    path.write_text(yaml.safe_dump(config(32 // processes, steps)))
    with socket.socket() as handle:
        handle.bind(("127.0.0.1", 0))
        port = handle.getsockname()[1]
    launch = ["-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--master_port", str(port)]
    command = [sys.executable, *(launch if processes > 1 else []), "-m", "embedtune", "train", str(path)]
    threads = str(2 // processes)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "HF_HUB_OFFLINE": "1"}
    subprocess.run([*command, "-o", str(out), "--overwrite"], check=True, env=env, capture_output=True)
    per_step = seconds_per_step(out)
    final = json.loads((out / "metrics.json").read_text())["final"]["stsb_dev"]["stsb_dev_spearman"]
    return 32 / per_step, final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rows = {processes: run(processes, args.steps) for processes in (1, 2)}
    lines = [
        f"Command: `.venv/bin/python bench/ddp_cpu.py --steps {args.steps}` on {os.cpu_count()} CPU cores "
        f"({platform.processor() or platform.machine()}); effective batch 32 either way.",
        "",
        "| processes | threads each | pairs / s | STS-B dev Spearman |",
        "|---:|---:|---:|---:|",
        *(f"| {p} | {2 // p} | {rate:.1f} | {final:.4f} |" for p, (rate, final) in rows.items()),
        "",
        f"2 processes / 1: throughput {rows[2][0] / rows[1][0]:.2f}x, Spearman {rows[2][1] - rows[1][1]:+.4f}.",
    ]
    write_result("ddp_cpu", lines)


if __name__ == "__main__":
    main()
