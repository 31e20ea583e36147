"""Curriculum schedules on IT tickets at one budget: shuffled (no curriculum) vs equal, 3-4-5-shaped and
hard-focused phase epochs, and TF-IDF vs model-mined hard negatives, all on the same mined pairs and held-out split.

    .venv/bin/python bench/tickets_schedules.py [--only NAME ...]

Every variant trains full MiniLM with cosine loss for the same number of pair passes (6 phase-epochs: 960 pairs a
phase, 360 steps of 16), lr 3e-5 with 10% warmup, max_seq_length 64, seed 42. Writes bench/results/tickets_schedules.md
and one JSON per variant (kept, so a rerun with --only redoes just those).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKETS = ROOT.parent / "shared" / "data" / "it_tickets" / "tickets.tsv"
RECIPE = ROOT / "recipes" / "tickets-curriculum-345-cosine.yaml"
RESULTS = ROOT / "bench" / "results" / "tickets_schedules"
MINED = {"tfidf": ROOT / "data" / "tickets-mined", "model": ROOT / "data" / "tickets-mined-model-negatives"}

#: name -> (hard negatives, phase epochs or None for shuffled, shuffled epochs)
VARIANTS = {
    "shuffled": ("tfidf", None, 2),
    "equal 2-2-2": ("tfidf", (2, 2, 2), None),
    "3-4-5 shape 1-2-3": ("tfidf", (1, 2, 3), None),
    "hard-focused 1-1-4": ("tfidf", (1, 1, 4), None),
    "3-4-5 shape 1-2-3, model negatives": ("model", (1, 2, 3), None),
}
COMMON = [
    "model.max_seq_length=64",
    "training.warmup_steps=null",
    "training.warmup_ratio=0.1",
    "training.eval_steps=100000",  # measure before and after only: the comparison is about the end point
]


def mine(kind: str) -> None:
    from embedtune.data.documents import load_documents
    from embedtune.data.mining import MiningConfig, mine_category_pairs, write_mined
    from embedtune.data.model_negatives import with_model_hard_negatives
    from embedtune.modeling.load import load_model

    mined = mine_category_pairs(*load_documents(TICKETS), MiningConfig(seed=0))
    if kind == "model":
        mined = with_model_hard_negatives(mined, load_model("default"), "default (untuned MiniLM)", seed=0)
    write_mined(mined, MINED[kind], format="jsonl")


def overrides(kind: str, phases: tuple[int, ...] | None, shuffled_epochs: int | None) -> list[str]:
    data = MINED[kind]
    out = [*COMMON, f"data.train.path={data / 'train.jsonl'}"]
    if phases is None:
        return [*out, "training.curriculum=null", f"training.epochs={shuffled_epochs}"]
    listed = ", ".join(f"{{phase: {k + 1}, epochs: {e}}}" for k, e in enumerate(phases))
    return [*out, f"training.curriculum.phases=[{listed}]"]


def _relative_to_recipe(setting: str) -> str:
    key, _, value = setting.partition("=")
    if key != "data.train.path":
        return setting
    return f"{key}={os.path.relpath(value, RECIPE.parent)}"


def run(name: str) -> dict:
    from embedtune.config import load_config
    from embedtune.pipeline import run_training

    kind, phases, shuffled_epochs = VARIANTS[name]
    settings = overrides(kind, phases, shuffled_epochs)
    slug = name.replace(" ", "_").replace(",", "")
    result = run_training(load_config(RECIPE, settings), ROOT / "bench" / "out" / "schedules" / slug, overwrite=True)
    record = {
        "name": name,
        "hard_negatives": kind,
        "phases": phases,
        # as given on the command line, but relative to the recipe's folder: no path of this machine in the results
        "overrides": [_relative_to_recipe(setting) for setting in settings],
        "minutes": round(result.seconds / 60, 1),
        "metrics": result.metrics,
        "statistics": result.statistics,
        "steps": _steps(result.output_dir),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{slug}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    return record


def _steps(output_dir: Path) -> int:
    records = [json.loads(line) for line in (output_dir / "history.jsonl").read_text().splitlines()]
    return max(r["step"] for r in records)


def _cell(record: dict, name: str, metric: str) -> str:
    from embedtune.evaluation.interval import Interval

    before = record["metrics"]["baseline"][name][metric]
    after = record["metrics"]["final"][name][metric]
    found = Interval.of(record["statistics"].get(name, {}).get(metric))
    interval = f" {found.format(digits=3)}" if found else ""
    return f"{after:.4f} ({after - before:+.4f}{interval})"


def _stsb(record: dict) -> tuple[str, str]:
    """STS-B dev's guard set: stsb_dev since the guard watches every general set, retention in older records."""
    name = "stsb_dev" if "stsb_dev" in record["metrics"]["baseline"] else "retention"
    return name, f"{name}_spearman"


def table(records: list[dict]) -> str:
    first = records[0]["metrics"]["baseline"]
    stsb, spearman = _stsb(records[0])
    lines = [
        "Same mined pairs (960 a phase), same held-out 20% document split, same budget (6 phase-epochs), full MiniLM,",
        "cosine loss, lr 3e-5, 10% warmup, max_seq_length 64, seed 42. Cells: fine-tuned value (delta vs untuned",
        "[95% paired bootstrap]).",
        "",
        f"Untuned: pair ROC-AUC {first['tickets_pairs']['tickets_pairs_roc_auc']:.4f}, kNN-5 accuracy "
        f"{first['tickets_knn']['tickets_knn_accuracy']:.4f}, "
        f"STS-B dev Spearman {first[stsb][spearman]:.4f}.",
        "",
        "| variant | hard negatives | steps | pair ROC-AUC | kNN-5 accuracy | STS-B dev Spearman | minutes |",
        "|---|---|---:|---|---|---|---:|",
    ]
    for r in records:
        lines.append(
            f"| {r['name']} | {r['hard_negatives']} | {r['steps']} "
            f"| {_cell(r, 'tickets_pairs', 'tickets_pairs_roc_auc')} "
            f"| {_cell(r, 'tickets_knn', 'tickets_knn_accuracy')} | {_cell(r, *_stsb(r))} "
            f"| {r['minutes']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), help="rerun just these variants")
    args = parser.parse_args()
    for kind in ("tfidf", "model"):
        mine(kind)
    for name in args.only or list(VARIANTS):
        run(name)
    slugs = [name.replace(" ", "_").replace(",", "") for name in VARIANTS]
    records = [json.loads((RESULTS / f"{s}.json").read_text()) for s in slugs if (RESULTS / f"{s}.json").exists()]
    text = table(records)
    (ROOT / "bench" / "results" / "tickets_schedules.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
