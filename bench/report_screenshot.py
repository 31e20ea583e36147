"""Render a run report to HTML and take a full-page screenshot of it with headless Chromium.

.venv/bin/python bench/report_screenshot.py                  # synthetic-but-realistic run -> bench/results/report.png
.venv/bin/python bench/report_screenshot.py bench/out/stsb/embedtune [--out shot.png] [--height 6000]

A run dir supplies metrics.json and history.jsonl (plus statistics.json, flags.json, similarities.json and
dimension_curves.json when present). Needs Debian's chromium: apt-get install -y chromium.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
STS = ("spearman", "pearson")
PAIR = ("roc_auc", "average_precision", "f1", "accuracy", "precision", "recall", "threshold")
SETS = {"stsb_dev": STS, "quora_dev": PAIR, "sick_retention": STS}
DIMS = (32, 64, 128, 256, 384)


def _metric_values(rng: np.random.Generator, gain: float) -> dict[str, dict[str, float]]:
    base = {
        "spearman": 0.82,
        "pearson": 0.83,
        "roc_auc": 0.88,
        "average_precision": 0.84,
        "f1": 0.78,
        "accuracy": 0.81,
        "precision": 0.75,
        "recall": 0.82,
        "threshold": 0.74,
    }
    return {
        name: {
            f"{name}_{m}": base[m] + (gain if name != "sick_retention" else -gain / 2) + rng.normal(0, 0.002)
            for m in metrics
        }
        for name, metrics in SETS.items()
    }


def synthetic_history(rng: np.random.Generator, steps: int = 720, every: int = 10, eval_every: int = 180):
    """Train records with four Matryoshka components, a warmup-then-linear lr, and an eval every ``eval_every``."""
    history = []
    for step in range(every, steps + 1, every):
        lr = 2e-5 * min(step / 72, (steps - step) / (steps - 72))
        parts = {
            f"loss_dim_{d}": (0.9 + 64 / d) * (0.35 + 0.65 * math.exp(-step / 200)) * rng.lognormal(0, 0.12)
            for d in DIMS[1:]
        }
        history.append(
            {
                "kind": "train",
                "step": step,
                "epoch": step / 360,
                "lr": lr,
                "loss": sum(parts.values()),
                "grad_norm": rng.uniform(0.5, 3),
                **parts,
            }
        )
        if step % eval_every == 0:
            gain = 0.05 * (1 - math.exp(-step / 250))
            flat = {k: v for metrics in _metric_values(rng, gain).values() for k, v in metrics.items()}
            history.append({"kind": "eval", "step": step, "epoch": step / 360, **flat, "runtime": 7.1})
    return history + [{"kind": "summary", "step": steps, "epoch": 2.0, "train_loss": 1.1}]


def synthetic_statistics(metrics: dict, rng: np.random.Generator) -> dict:
    out: dict = {}
    for name, values in metrics["final"].items():
        for key, final in values.items():
            baseline, width = metrics["baseline"][name][key], rng.uniform(0.008, 0.02)
            delta, spread = final - baseline, width * 0.6
            out.setdefault(name, {})[key] = {
                "baseline": baseline,
                "final": final,
                "delta": delta,
                "baseline_low": baseline - width,
                "baseline_high": baseline + width,
                "final_low": final - width,
                "final_high": final + width,
                "delta_low": delta - spread,
                "delta_high": delta + spread,
                "excludes_zero": delta - spread > 0 or delta + spread < 0,
            }
    return out


def synthetic_similarities(rng: np.random.Generator, n: int = 800) -> dict:
    """The same pairs (same labels) scored by the baseline and by the final model."""
    labels, scores = rng.integers(0, 2, n), rng.uniform(0, 5, n)

    def pair_half(pos_mean: float, neg_mean: float) -> dict:
        cosine = np.where(labels == 1, rng.normal(pos_mean, 0.09, n), rng.normal(neg_mean, 0.13, n))
        return {"cosine": np.clip(cosine, -1, 1), "label": labels}

    def sts_half(slope: float) -> dict:
        return {"cosine": np.clip(0.25 + slope * scores / 5 + rng.normal(0, 0.1, n), -1, 1), "label": scores}

    return {
        "quora_dev": {"baseline": pair_half(0.78, 0.58), "final": pair_half(0.83, 0.41)},
        "stsb_dev": {"baseline": sts_half(0.5), "final": sts_half(0.65)},
    }


def synthetic_dimension_curves() -> dict:
    def curve(top: float, drop: float) -> list[tuple[int, float]]:
        return [(d, top - drop * math.log2(384 / d) ** 1.6) for d in DIMS]

    return {"stsb_dev_spearman": {"baseline": curve(0.821, 0.02), "final": curve(0.868, 0.006)}}


def synthetic_inputs(seed: int = 0) -> dict:
    """Keyword arguments for html_report that look like a two-epoch Matryoshka run on three eval sets."""
    rng = np.random.default_rng(seed)
    metrics = {"baseline": _metric_values(rng, 0.0), "final": _metric_values(rng, 0.05)}
    drop = (
        metrics["baseline"]["sick_retention"]["sick_retention_spearman"]
        - (metrics["final"]["sick_retention"]["sick_retention_spearman"])
    )
    return {
        "metrics": metrics,
        "title": "embedtune run: synthetic-matryoshka",
        "details": {
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "strategy": "full",
            "loss": "mnrl + matryoshka [384, 256, 128, 64]",
            "train data": "data/pairs.jsonl",
            "seed": "42",
            "wall time": "12.3 min",
        },
        "statistics": synthetic_statistics(metrics, rng),
        "flags": [f"retention sick_retention_spearman dropped {drop:.3f} > tolerance 0.010"],
        "history": synthetic_history(rng),
        "similarities": synthetic_similarities(rng),
        "dimension_curves": synthetic_dimension_curves(),
    }


def run_dir_inputs(run_dir: Path) -> dict:
    from embedtune.training.history import read_history

    def optional(name: str):
        path = run_dir / name
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    return {
        "metrics": json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")),
        "title": f"embedtune run: {run_dir.name}",
        "details": {"run dir": str(run_dir)},
        "statistics": optional("statistics.json"),
        "flags": optional("flags.json"),
        "history": read_history(run_dir / "history.jsonl"),
        "similarities": optional("similarities.json"),
        "dimension_curves": optional("dimension_curves.json"),
    }


def write_report(inputs: dict, path: Path) -> Path:
    from embedtune.evaluation.report import html_report

    inputs = dict(inputs)
    metrics, title, details = inputs.pop("metrics"), inputs.pop("title"), inputs.pop("details")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(metrics, title, details, **inputs), encoding="utf-8")
    return path


def screenshot(html_path: Path, png_path: Path, width: int = 1200, height: int = 6000) -> Path:
    png_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        command = [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={png_path}",
            f"--window-size={width},{height}",
            html_path.resolve().as_uri(),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=180)
    return crop_to_content(png_path)


def crop_to_content(png_path: Path, margin: int = 30) -> Path:
    """Chromium shoots the whole window: drop the blank rows below the page so the shot is the full page, no more."""
    from PIL import Image

    with Image.open(png_path) as image:
        pixels = np.asarray(image.convert("L"))
        rows = np.flatnonzero((pixels < 250).any(axis=1))
        if len(rows) and rows[-1] + margin < image.height:
            image.crop((0, 0, image.width, rows[-1] + margin)).save(png_path)
    return png_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, nargs="?", help="a finished run dir (default: synthetic data)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "report.png")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=6000)
    args = parser.parse_args()
    inputs = run_dir_inputs(args.run_dir) if args.run_dir else synthetic_inputs()
    with tempfile.TemporaryDirectory() as tmp:
        html_path = write_report(inputs, Path(tmp) / "report.html")
        print(f"report.html: {html_path.stat().st_size / 1024:.0f} KB")
        screenshot(html_path, args.out, args.width, args.height)
    print(f"screenshot: {args.out} ({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
