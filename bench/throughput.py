"""Training pairs/s: embedtune against plain sentence-transformers, same data, model, hyperparameters and threads.

.venv/bin/python bench/throughput.py [--steps 70] [--rounds 4]     (~20 min alone on 2 CPU cores)

Each run fine-tunes the bundled all-MiniLM-L6-v2 on ../shared/data/stsb/train.tsv (batch 16, max_seq_length 128,
2 torch threads) for ``--steps`` optimizer steps with no evaluation or checkpoint inside them, once with the cosine
loss (pairs with scores) and once with MNRL (the same pairs as anchor/positive, in-batch negatives). Plain
sentence-transformers is what a user writes from its docs. Every run is its own process, one after the other, in
the order plain, embedtune, then the reverse, ``--rounds`` times; the step times of steps after the 10th are compared,
taken for both by the same Trainer callback at each step's end. Writes bench/results/throughput.md.
"""

from __future__ import annotations

import argparse
import csv
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
DATA = ROOT.parent / "shared" / "data" / "stsb" / "train.tsv"
OUT = ROOT / "bench" / "out" / "throughput"
BATCH, LR, SEQ, WARM_UP, WEIGHT_DECAY = 16, 2e-5, 128, 10, 0.01
LOGGING_STEPS = 10  # both sides log as a user's run does; the same callback times the steps of both


def step_timer():
    """A Trainer callback noting when each step ends, and the mean seconds of a step after WARM_UP from them."""
    from transformers import TrainerCallback

    ends: dict[int, float] = {}

    class StepTimes(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            ends[state.global_step] = time.monotonic()

    def seconds_per_step() -> float:
        timed = {step: at for step, at in ends.items() if step > WARM_UP}
        first, last = min(timed), max(timed)
        return (timed[last] - timed[first]) / (last - first)

    return StepTimes(), seconds_per_step


def run_embedtune(loss: str, steps: int, out: Path) -> float:
    from embedtune.config import parse_config
    from embedtune.pipeline import run_training

    columns = {"label": "score"} if loss == "cosine" else {}
    config = parse_config(
        {
            "model": {"name": "default", "max_seq_length": SEQ},
            "loss": {"name": loss},
            "data": {"train": {"path": str(DATA), "columns": columns, "score_range": [0, 5]}},
            "training": {
                "lr": LR,
                "max_steps": steps,
                "batch_size": BATCH,
                "weight_decay": WEIGHT_DECAY,
                "logging_steps": LOGGING_STEPS,
                "seed": 42,
            },
            "retention": {"enabled": False},
        }
    )
    timer, seconds_per_step = step_timer()
    run_training(config, out, overwrite=True, callbacks=lambda _metric: [timer])
    return seconds_per_step()


def run_plain(loss: str, steps: int, out: Path) -> float:
    """The sentence-transformers docs' training loop with the same hyperparameters; a callback times the steps."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Args
    from sentence_transformers.sentence_transformer import losses

    from embedtune.modeling import default_model_path

    with open(DATA, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    columns = {"sentence1": [r["sentence1"] for r in rows], "sentence2": [r["sentence2"] for r in rows]}
    if loss == "cosine":
        columns["label"] = [float(r["score"]) / 5 for r in rows]
    model = SentenceTransformer(str(default_model_path()))
    model.max_seq_length = SEQ
    timer, seconds_per_step = step_timer()
    trainer = SentenceTransformerTrainer(
        model=model,
        args=Args(
            output_dir=str(out),
            learning_rate=LR,
            max_steps=steps,
            per_device_train_batch_size=BATCH,
            seed=42,
            save_strategy="no",
            report_to="none",
            logging_steps=LOGGING_STEPS,
            weight_decay=WEIGHT_DECAY,  # embedtune's default; the Trainer's own is 0 (one fewer optimizer op)
        ),
        train_dataset=Dataset.from_dict(columns),
        loss=losses.CosineSimilarityLoss(model) if loss == "cosine" else losses.MultipleNegativesRankingLoss(model),
        callbacks=[timer],
    )
    trainer.train()
    return seconds_per_step()


def child(tool: str, loss: str, steps: int, result: Path) -> None:
    import torch

    torch.set_num_threads(2)
    out = OUT / f"{tool}-{loss}"
    seconds = (run_embedtune if tool == "embedtune" else run_plain)(loss, steps, out)
    result.write_text(json.dumps({"seconds_per_step": seconds}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=70)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.steps, args.result)
        return
    if not DATA.exists():
        sys.exit(f"error: {DATA} not found; this benchmark needs ../shared/data beside the repository")
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    times: dict[tuple[str, str], list[float]] = {}
    for loss in ("cosine", "mnrl"):
        for round_ in range(args.rounds):
            for tool in ("plain", "embedtune")[:: 1 if round_ % 2 == 0 else -1]:  # ABBA: drift cancels
                result = OUT / f"{tool}-{loss}.json"
                command = [sys.executable, __file__, "--child", tool, loss, "--steps", str(args.steps)]
                subprocess.run([*command, "--result", str(result)], check=True, env=env)
                seconds = json.loads(result.read_text())["seconds_per_step"]
                times.setdefault((tool, loss), []).append(seconds)
                print(f"{tool} {loss}: {seconds:.3f} s/step", flush=True)
    lines = [
        f"Command: `.venv/bin/python bench/throughput.py --steps {args.steps} --rounds {args.rounds}` on "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), torch threads 2, batch {BATCH}, "
        f"max_seq_length {SEQ}, all-MiniLM-L6-v2, STS-B train; each run its own process, one after the other.",
        "",
        "| loss | plain sentence-transformers pairs/s | embedtune pairs/s | embedtune / plain |",
        "|---|---:|---:|---:|",
    ]
    for loss in ("cosine", "mnrl"):
        plain, ours = (BATCH / statistics.median(times[tool, loss]) for tool in ("plain", "embedtune"))
        lines.append(f"| {loss} | {plain:.1f} | {ours:.1f} | {ours / plain:.3f} |")
    lines += [
        "",
        f"Pairs/s from the median step time of {args.rounds} runs each (order plain, embedtune, then reversed, and so"
        f" on), steps {WARM_UP + 1}-{args.steps}. Seconds per step of each run:",
        "",
    ]
    for (tool, loss), seconds in times.items():
        lines.append(f"- {tool} {loss}: {', '.join(f'{s:.3f}' for s in seconds)}")
    write_result("throughput", lines)


if __name__ == "__main__":
    main()
