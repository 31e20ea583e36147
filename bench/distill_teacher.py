"""Distillation: time per epoch with the teacher's outputs cached (embedtune) against the teacher run every step.

.venv/bin/python bench/distill_teacher.py [--pairs 800] [--epochs 2]     (~12 min alone on 2 CPU cores)

Both runs train recipes/distill-keep.yaml (MiniLM student, MPNet teacher, STS cosine + feature distillation) on a
seeded sample of ``--pairs`` STS-B train pairs, the same seed, one process each, one after the other, with no
evaluation inside the epochs. "Teacher every step" is what a loss holding the teacher does: each step it decodes the
batch's texts and runs MPNet on them (no gradient) for the same targets the cache holds. embedtune runs the teacher
once per distinct text before training (kept across runs with EMBEDTUNE_TEACHER_CACHE), so that cost falls outside
the epochs. Needs the teacher: ../shared/tools/get-teacher-mpnet ../models/all-mpnet-base-v2 (from the repo root).
Writes bench/results/distill_teacher.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from bench_util import epoch_seconds, write_result

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes" / "distill-keep.yaml"
OUT = ROOT / "bench" / "out" / "distill_teacher"


class LiveTeacher:
    """Stands in for TeacherCache: runs the teacher on each batch instead of looking its outputs up."""

    def __init__(self, teacher, student, layers, shapes) -> None:
        self.teacher, self.student, self.wanted = teacher, student, sorted(layers)
        self.embeddings, self.layers = shapes.embeddings, shapes.layers  # replaced by each batch's outputs
        self.num_layers, self.attention, self.dimension = shapes.num_layers, {}, shapes.dimension

    def rows(self, features):
        import torch

        from embedtune.objectives.teacher import hidden_states_enabled, mean_pool

        texts = self.student.tokenizer.batch_decode(features["input_ids"], skip_special_tokens=True)
        encoding = self.teacher.tokenizer(
            texts, padding=True, truncation=True, max_length=self.teacher.max_seq_length, return_tensors="pt"
        )
        with torch.no_grad(), hidden_states_enabled(self.teacher):
            out = self.teacher({k: v.to(self.teacher.device) for k, v in encoding.items()})
        self.embeddings = out["sentence_embedding"]
        self.layers = {k: mean_pool(out["all_layer_embeddings"][k], out["attention_mask"]) for k in self.wanted}
        return torch.arange(len(texts))


def live_teacher() -> None:
    """Patch TeacherCache.build to keep the teacher (built on one text, for the output sizes) for each batch."""
    from embedtune.objectives.teacher import TeacherCache

    build = TeacherCache.build.__func__

    def build_live(cls, teacher, student, texts, layers=(), batch_size=32, attention_layers=(), store=None):
        shapes = build(cls, teacher, student, list(texts)[:1], layers, batch_size, attention_layers)
        teacher.eval()
        return LiveTeacher(teacher, student, layers, shapes)

    TeacherCache.build = classmethod(build_live)


def child(live: bool, pairs: int, epochs: int, result: Path) -> None:
    import torch

    from embedtune.config import load_config
    from embedtune.pipeline import run_training

    torch.set_num_threads(2)
    if live:
        live_teacher()
    overrides = [
        f"data.train.sample={pairs}",
        f"training.epochs={epochs}",
        "training.eval_steps=1000000000",  # no evaluation inside the timed epochs
        "training.logging_steps=1",
        "retention.enabled=false",
    ]
    run = run_training(load_config(RECIPE, overrides), OUT / ("live" if live else "cached"), overwrite=True)
    seconds = epoch_seconds(run.output_dir, epochs)
    result.write_text(json.dumps({"epochs": seconds, "dev": run.metrics["final"]["stsb_dev"]["stsb_dev_spearman"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=800)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--child", choices=["live", "cached"], help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child == "live", args.pairs, args.epochs, args.result)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    rows = {}
    for which in ("live", "cached"):
        result = OUT / f"{which}.json"
        command = [
            sys.executable,
            __file__,
            "--child",
            which,
            "--pairs",
            str(args.pairs),
            "--epochs",
            str(args.epochs),
        ]
        subprocess.run([*command, "--result", str(result)], check=True, env=env)
        rows[which] = json.loads(result.read_text())
    later = {which: sum(row["epochs"][1:]) / (args.epochs - 1) for which, row in rows.items()}
    lines = [
        f"Command: `.venv/bin/python bench/distill_teacher.py --pairs {args.pairs} --epochs {args.epochs}` on "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), torch threads 2, "
        "recipes/distill-keep.yaml (MiniLM student, MPNet teacher), runs one after the other.",
        "",
        "| teacher | epoch 1 s | later epochs s (mean) | STS-B dev Spearman |",
        "|---|---:|---:|---:|",
    ]
    for which, row in rows.items():
        name = "outputs cached (embedtune)" if which == "cached" else "run every step"
        lines.append(f"| {name} | {row['epochs'][0]:.1f} | {later[which]:.1f} | {row['dev']:.4f} |")
    lines += ["", f"Epochs after the first: cached {later['live'] / later['cached']:.1f}x faster."]
    write_result("distill_teacher", lines)


if __name__ == "__main__":
    main()
