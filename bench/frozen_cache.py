"""Frozen strategy: time per epoch with the embedding cache (encode each text once) against the encoder every step.

.venv/bin/python bench/frozen_cache.py [--epochs 3]     (~10 min alone on 2 CPU cores)

Both runs train the bundled all-MiniLM-L6-v2 with the frozen strategy (mlp head) and cosine loss on
../shared/data/stsb/train.tsv, the same seed, in one process each, one after the other; the epoch times come from
history.jsonl's ``seconds``, with no evaluation inside them (STS-B dev is measured before and after). Prints the
ratio for the epochs after the first and the final STS-B dev Spearman of each, and writes
bench/results/frozen_cache.md.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

from bench_util import epoch_seconds, write_result

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "stsb"
OUT = ROOT / "bench" / "out" / "frozen_cache"


def config(cache: bool, epochs: int):
    from embedtune.config import parse_config

    return parse_config(
        {
            "model": {"name": "default", "max_seq_length": 128},
            "strategy": {"name": "frozen", "projection": "mlp", "cache_embeddings": cache},
            "loss": {"name": "cosine"},
            "data": {
                "train": {"path": str(DATA / "train.tsv"), "columns": {"label": "score"}, "score_range": [0, 5]},
                "eval": [
                    {
                        "name": "stsb_dev",
                        "path": str(DATA / "dev.tsv"),
                        "task": "sts",
                        "columns": {"label": "score"},
                        "score_range": [0, 5],
                    }
                ],
            },
            "training": {
                "lr": 1e-3,
                "epochs": epochs,
                "batch_size": 16,
                "logging_steps": 1,
                "seed": 42,
                "eval_steps": 10**9,  # no evaluation inside the timed epochs: dev is measured once, at the end
            },
            "retention": {"enabled": False},  # epoch times only; the guard adds nothing to them
        }
    )


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    import torch

    from embedtune.pipeline import run_training

    torch.set_num_threads(2)
    rows = {}
    for cache in (False, True):
        result = run_training(config(cache, args.epochs), OUT / ("cached" if cache else "encoder"), overwrite=True)
        rows[cache] = (epoch_seconds(result.output_dir, args.epochs), result.metrics["final"]["stsb_dev"])
    later = {cache: sum(seconds[1:]) / (args.epochs - 1) for cache, (seconds, _) in rows.items()}
    lines = [
        f"Command: `.venv/bin/python bench/frozen_cache.py --epochs {args.epochs}` on {os.cpu_count()} CPU cores "
        f"({platform.processor() or platform.machine()}), torch threads 2, runs one after the other.",
        "",
        "| strategy frozen | epoch 1 s | later epochs s (mean) | STS-B dev Spearman |",
        "|---|---:|---:|---:|",
    ]
    for cache, (seconds, final) in rows.items():
        name = "embedding cache" if cache else "encoder every step"
        lines.append(f"| {name} | {seconds[0]:.1f} | {later[cache]:.2f} | {final['stsb_dev_spearman']:.4f} |")
    lines += ["", f"Epochs after the first: cached {later[False] / later[True]:.1f}x faster."]
    write_result("frozen_cache", lines)


if __name__ == "__main__":
    main()
