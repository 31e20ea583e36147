"""Encoding speed and quality: sentence-transformers fp32 against embedtune's ONNX fp32 and ONNX int8 exports.

.venv/bin/python bench/onnx_speed.py [--rounds 3]     (~6 min alone on 2 CPU cores)

Exports the bundled all-MiniLM-L6-v2 with `embedtune export` (fp32 and int8; reused when present), then encodes the
3,000 sentences of ../shared/data/stsb/dev.tsv (batch 32, 2 threads for torch and onnxruntime alike) with each of the
three, every run in its own process, in the order ST, fp32, int8 then reversed, ``--rounds`` times. Sentences/s is
the median over runs; STS-B dev Spearman is from the embeddings each one encoded. Writes bench/results/onnx-speed.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_util import write_result

ROOT = Path(__file__).resolve().parent.parent
STSB = ROOT.parent / "shared" / "data" / "stsb" / "dev.tsv"
OUT = ROOT / "bench" / "out" / "onnx"
THREADS, BATCH = 2, 32
VARIANTS = ("st-fp32", "onnx-fp32", "onnx-int8")


def stsb() -> tuple[list[str], list[str], list[float]]:
    import csv

    with open(STSB, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [r["sentence1"] for r in rows], [r["sentence2"] for r in rows], [float(r["score"]) for r in rows]


def encoder(variant: str):
    if variant == "st-fp32":
        import torch
        from sentence_transformers import SentenceTransformer

        from embedtune.modeling import default_model_path

        torch.set_num_threads(THREADS)
        model = SentenceTransformer(str(default_model_path()), device="cpu")
        return lambda texts: model.encode(texts, batch_size=BATCH, convert_to_numpy=True)
    from embedtune.serving.onnx_encoder import OnnxEncoder

    exported = OnnxEncoder(OUT / variant.removeprefix("onnx-"), threads=THREADS)
    return lambda texts: exported.encode(texts, batch_size=BATCH)


def child(variant: str, result: Path) -> None:
    import numpy as np
    from scipy.stats import spearmanr

    first, second, gold = stsb()
    texts = first + second
    encode = encoder(variant)
    encode(texts[:256])  # warm-up: first-call allocations and thread pools
    started = time.perf_counter()
    vectors = encode(texts)
    seconds = time.perf_counter() - started
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    a, b = vectors[: len(first)], vectors[len(first) :]
    spearman = float(spearmanr(np.sum(a * b, axis=1), gold).statistic)
    result.write_text(json.dumps({"sentences_per_second": len(texts) / seconds, "spearman": spearman}))


def export_once() -> None:
    from embedtune.serving.export import export_model
    from embedtune.serving.texts import parity_texts

    for fmt, name in (("onnx", "fp32"), ("onnx-int8", "int8")):
        if not (OUT / name / "parity.json").exists():
            export_model("default", fmt, OUT / name, parity_texts(None), stsb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], Path(args.child[1]))
    OUT.mkdir(parents=True, exist_ok=True)
    export_once()
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "TOKENIZERS_PARALLELISM": "false"}
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    for round_ in range(args.rounds):
        for variant in VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]:
            result = OUT / f"{variant}.json"
            subprocess.run([sys.executable, __file__, "--child", variant, str(result)], check=True, env=env)
            runs[variant].append(json.loads(result.read_text()))
            print(f"{variant}: {runs[variant][-1]}", flush=True)
    speed = {v: statistics.median(r["sentences_per_second"] for r in runs[v]) for v in VARIANTS}
    quality = {v: runs[v][0]["spearman"] for v in VARIANTS}
    lines = [
        f"Command: `.venv/bin/python bench/onnx_speed.py --rounds {args.rounds}` on {os.cpu_count()} CPU cores "
        f"({platform.machine()}), {THREADS} threads for torch and onnxruntime, batch {BATCH}, all-MiniLM-L6-v2, "
        "the 3,000 STS-B dev sentences; each run its own process.",
        "",
        "| model | sentences/s | vs sentence-transformers fp32 | STS-B dev Spearman | change |",
        "|---|---:|---:|---:|---:|",
    ]
    for v in VARIANTS:
        lines.append(
            f"| {v} | {speed[v]:.0f} | {speed[v] / speed['st-fp32']:.2f}x | {quality[v]:.4f} | "
            f"{quality[v] - quality['st-fp32']:+.4f} |"
        )
    lines += [
        "",
        f"Median of {args.rounds} runs each (order ST, fp32, int8, then reversed). Sentences/s of each run:",
        "",
    ]
    lines += [f"- {v}: " + ", ".join(f"{r['sentences_per_second']:.0f}" for r in runs[v]) for v in VARIANTS]
    write_result("onnx-speed", lines)


if __name__ == "__main__":
    main()
