"""STS-B: embedtune's recipe against plain sentence-transformers with the same loss, data, batch, lr and steps.

Both runs fine-tune the bundled all-MiniLM-L6-v2 on ../shared/data/stsb/train.tsv with CosineSimilarityLoss and are
measured on dev.tsv (dev numbers: we have no test split). Each run is a separate process, so peak memory is its own.
Prints one table with the ratios and writes bench/results/stsb_vs_plain_st.{json,md}.

    .venv/bin/python bench/stsb_vs_plain_st.py            # both runs, ~15 min on 2 cores
    .venv/bin/python bench/stsb_vs_plain_st.py --steps 40 # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes" / "stsb-cosine.yaml"
DATA = ROOT.parent / "shared" / "data" / "stsb"
RESULTS = ROOT / "bench" / "results"


def run_embedtune(steps: int | None, out: Path) -> dict:
    from embedtune.config import load_config
    from embedtune.pipeline import run_training

    overrides = [f"training.max_steps={steps}"] if steps else []
    config = load_config(RECIPE, overrides)
    result = run_training(config, out / "embedtune", overwrite=True)
    history = [json.loads(line) for line in (out / "embedtune" / "history.jsonl").read_text().splitlines()]
    return {
        "dev_spearman_baseline": result.metrics["baseline"]["stsb_dev"]["stsb_dev_spearman"],
        "dev_spearman": result.metrics["final"]["stsb_dev"]["stsb_dev_spearman"],
        "steps": max(row["step"] for row in history),
    }


def run_plain(steps: int | None, out: Path) -> dict:
    """What a user writes by hand from the sentence-transformers docs, with the recipe's hyperparameters."""
    import csv

    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Args
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    from embedtune.config import load_config
    from embedtune.modeling import default_model_path

    config = load_config(RECIPE).training

    def read(name: str) -> dict:
        with open(DATA / name, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        return {
            "s1": [r["sentence1"] for r in rows],
            "s2": [r["sentence2"] for r in rows],
            "label": [float(r["score"]) / 5 for r in rows],
        }

    train, dev = read("train.tsv"), read("dev.tsv")
    model = SentenceTransformer(str(default_model_path()), device="cpu")
    model.max_seq_length = load_config(RECIPE).model.max_seq_length
    evaluator = EmbeddingSimilarityEvaluator(dev["s1"], dev["s2"], dev["label"], name="stsb_dev")
    baseline = evaluator(model)["stsb_dev_spearman_cosine"]
    args = Args(
        output_dir=str(out / "plain"),
        learning_rate=config.lr,
        num_train_epochs=config.epochs,
        max_steps=steps or -1,
        per_device_train_batch_size=config.batch_size,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        lr_scheduler_type=config.scheduler,
        seed=config.seed,
        eval_strategy="steps",
        eval_steps=config.eval_steps,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        logging_steps=config.logging_steps,
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict(train),
        loss=CosineSimilarityLoss(model),
        evaluator=evaluator,
    )
    trainer.train()
    return {
        "dev_spearman_baseline": baseline,
        "dev_spearman": evaluator(model)["stsb_dev_spearman_cosine"],
        "steps": trainer.state.global_step,
    }


def child(which: str, steps: int | None, out: Path, result_file: Path) -> None:
    started = time.time()
    result = (run_embedtune if which == "embedtune" else run_plain)(steps, out)
    result["seconds"] = time.time() - started
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result_file.write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="cap the steps of both runs (default: the recipe's)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "stsb")
    parser.add_argument("--child", choices=["embedtune", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps, args.out, args.result_file)
        return
    if not (DATA / "train.tsv").exists():
        sys.exit(f"error: {DATA} not found; this benchmark needs ../shared/data beside the repository")
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for which in ("plain", "embedtune"):
        result_file = args.out / f"{which}.json"
        command = [
            sys.executable,
            __file__,
            "--child",
            which,
            "--out",
            str(args.out),
            "--result-file",
            str(result_file),
        ]
        command += ["--steps", str(args.steps)] if args.steps else []
        subprocess.run(command, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        results[which] = json.loads(result_file.read_text())
    report(results, args.steps)


def report(results: dict, steps: int | None) -> None:
    plain, ours = results["plain"], results["embedtune"]
    rows = [
        ("STS-B dev Spearman, untuned", plain["dev_spearman_baseline"], ours["dev_spearman_baseline"], "{:.4f}"),
        ("STS-B dev Spearman, tuned", plain["dev_spearman"], ours["dev_spearman"], "{:.4f}"),
        ("optimizer steps", plain["steps"], ours["steps"], "{:.0f}"),
        ("wall time (s), incl. baseline + evals", plain["seconds"], ours["seconds"], "{:.0f}"),
        ("peak RSS (MB)", plain["peak_rss_mb"], ours["peak_rss_mb"], "{:.0f}"),
    ]
    lines = ["| measure | plain sentence-transformers | embedtune | embedtune / plain |", "|---|---:|---:|---:|"]
    for name, a, b, fmt in rows:
        lines.append(f"| {name} | {fmt.format(a)} | {fmt.format(b)} | {b / a:.3f} |")
    command = "python bench/stsb_vs_plain_st.py" + (f" --steps {steps}" if steps else "")
    text = f"Command: `{command}` (recipe `recipes/stsb-cosine.yaml`, 2 CPU cores)\n\n" + "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if steps is None:
        (RESULTS / "stsb_vs_plain_st.md").write_text(text, encoding="utf-8")
        (RESULTS / "stsb_vs_plain_st.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
