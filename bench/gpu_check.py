"""The STS-B recipe on a CUDA GPU in fp32 and in bf16: time, peak GPU memory and dev Spearman for each.

    bash bench/gpu_check.sh [--steps N]     (needs a CUDA GPU with bf16, i.e. Ampere or newer; not run on the 2-core
                                             CPU machine this repo is developed on)

Each precision trains in its own process (peak memory is its own) from recipes/stsb-cosine.yaml with
training.device=cuda. Prints one table and writes bench/results/gpu_check.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_util import write_result

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes" / "stsb-cosine.yaml"
OUT = ROOT / "bench" / "out" / "gpu_check"


def one(precision: str, steps: int | None) -> dict:
    """Child process: train, then report wall time, peak GPU memory and the final dev Spearman as JSON."""
    import torch

    from embedtune.config import load_config
    from embedtune.pipeline import run_training

    overrides = ["training.device=cuda", f"training.precision={precision}"]
    overrides += [f"training.max_steps={steps}"] if steps else []
    config = load_config(RECIPE, overrides)
    torch.cuda.reset_peak_memory_stats()
    started = time.time()
    result = run_training(config, OUT / precision, overwrite=True)
    return {
        "precision": precision,
        "seconds": round(time.time() - started, 1),
        "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20),
        "stsb_dev_spearman": result.metrics["final"]["stsb_dev"]["stsb_dev_spearman"],
        "gpu": torch.cuda.get_device_name(),
    }


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="train this many steps only (a quick check)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.steps)))
        return
    import torch

    if not torch.cuda.is_available():
        sys.exit("bench/gpu_check: no CUDA GPU here (torch.cuda.is_available() is False)")
    rows = []
    for precision in ("fp32", "bf16"):
        command = [
            sys.executable,
            __file__,
            "--child",
            precision,
            *(["--steps", str(args.steps)] if args.steps else []),
        ]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    lines = [
        f"Command: `bash bench/gpu_check.sh{f' --steps {args.steps}' if args.steps else ''}` on {rows[0]['gpu']}",
        "",
        "| precision | seconds | peak GPU MiB | STS-B dev Spearman |",
        "|---|---:|---:|---:|",
        *(f"| {r['precision']} | {r['seconds']} | {r['peak_gpu_mib']} | {r['stsb_dev_spearman']:.4f} |" for r in rows),
        "",
        f"bf16 / fp32: time {rows[1]['seconds'] / rows[0]['seconds']:.2f}x, "
        f"memory {rows[1]['peak_gpu_mib'] / rows[0]['peak_gpu_mib']:.2f}x, "
        f"Spearman {rows[1]['stsb_dev_spearman'] - rows[0]['stsb_dev_spearman']:+.4f}",
    ]
    write_result("gpu_check", lines)


if __name__ == "__main__":
    main()
