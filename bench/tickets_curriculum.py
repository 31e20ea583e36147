"""IT tickets end to end: mine phased pairs, fine-tune with a curriculum, compare with the untuned model and with a
TF-IDF (1-2 grams) + linear SVM classifier trained on the same training documents, all on the held-out 20% split.

    .venv/bin/python bench/tickets_curriculum.py [--recipe recipes/tickets-curriculum-345-cosine.yaml] [--set k=v]

Writes bench/results/<recipe stem>.md (baseline vs tuned with paired-bootstrap intervals, plus the SVM row).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKETS = ROOT.parent / "shared" / "data" / "it_tickets" / "tickets.tsv"
MINED = ROOT / "data" / "tickets-mined"
SICK = ROOT.parent / "shared" / "data" / "sick" / "train.tsv"
SICK_ENTAILMENT = ROOT / "data" / "sick-entailment.tsv"
MSRP = ROOT.parent / "shared" / "data" / "msrp" / "train.tsv"
STSB = ROOT.parent / "shared" / "data" / "stsb"
GENERAL = ROOT / "data" / "general-pairs.tsv"


def write_sick_entailment() -> None:
    """SICK train as binary pairs (entailment = 1, else 0) for MNRL-style rehearsal; no text of it is in STS-B dev."""
    import csv

    with SICK.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    SICK_ENTAILMENT.parent.mkdir(parents=True, exist_ok=True)
    with SICK_ENTAILMENT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["sentence1", "sentence2", "label"])
        for row in rows:
            writer.writerow([row["sentence1"], row["sentence2"], int(row["entailment"] == "entailment")])


def _read_tsv(path: Path) -> list[dict]:
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def write_general_pairs() -> None:
    """SICK entailment pairs plus MSRP train paraphrase pairs (0/1), minus every pair with a text in STS-B train or
    dev: a broader general set (captions and news) to rehearse and self-distil, kept apart from the guard and from
    the STS-B train sample WiSE selection reads."""
    import csv

    stsb = _read_tsv(STSB / "train.tsv") + _read_tsv(STSB / "dev.tsv")
    guarded = {row["sentence1"] for row in stsb} | {row["sentence2"] for row in stsb}
    rows = _read_tsv(SICK_ENTAILMENT) + _read_tsv(MSRP)
    kept = [row for row in rows if row["sentence1"] not in guarded and row["sentence2"] not in guarded]
    with GENERAL.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["sentence1", "sentence2", "label"])
        writer.writerows([row["sentence1"], row["sentence2"], row["label"]] for row in kept)


def _interval(stat: dict | None) -> str:
    from embedtune.evaluation.interval import Interval

    interval = Interval.of(stat)
    return f" {interval.format(digits=3)}{' *' if interval.excludes_zero else ''}" if interval else ""


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "tickets-curriculum-345-cosine.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--name", help="names bench/out/NAME and bench/results/NAME.md (default: the recipe's stem)")
    parser.add_argument(
        "--pairs-per-category", type=int, default=60, help="mined into the folder of the recipe's train file"
    )
    parser.add_argument(
        "--general-pairs-only", action="store_true", help="write data/general-pairs.tsv and sick-entailment.tsv; stop"
    )
    args = parser.parse_args()
    if args.general_pairs_only:
        write_sick_entailment()
        write_general_pairs()
        return

    from tickets_svm import knn_against_svm_line, svm_accuracy

    from embedtune.config import load_config
    from embedtune.data.documents import load_documents
    from embedtune.data.mining import MiningConfig, mine_category_pairs, write_mined
    from embedtune.pipeline import run_training

    texts, labels = load_documents(TICKETS)
    write_sick_entailment()
    write_general_pairs()
    write_mined(mine_category_pairs(texts, labels, MiningConfig(seed=0)), MINED, format="jsonl")
    config = load_config(args.recipe, args.overrides)
    train_folder = config.data.train.path.parent.resolve()
    if train_folder != MINED.resolve():  # same seed, so the same document split as MINED
        more = MiningConfig(seed=0, pairs_per_category=args.pairs_per_category)
        write_mined(mine_category_pairs(texts, labels, more), train_folder, format="jsonl")
    accuracy, macro_f1 = svm_accuracy()
    run_name = args.name or args.recipe.stem
    result = run_training(config, ROOT / "bench" / "out" / run_name, overwrite=True)
    recipe = args.recipe.relative_to(ROOT) if args.recipe.is_absolute() else args.recipe
    command = f"python bench/tickets_curriculum.py --recipe {recipe}" + "".join(f" --set {o}" for o in args.overrides)
    if args.pairs_per_category != 60:
        command += f" --pairs-per-category {args.pairs_per_category}"
    if args.name:
        command += f" --name {args.name}"
    lines = [
        f"Command: `{command}` — wall time {result.seconds / 60:.1f} min on 2 CPU cores",
        "",
        "| eval set | metric | untuned | fine-tuned | delta [95% paired bootstrap] |",
        "|---|---|---:|---:|---:|",
    ]
    for name, values in result.metrics["final"].items():
        for metric, after in values.items():
            before = result.metrics["baseline"][name][metric]
            lines.append(
                f"| {name} | {metric} | {before:.4f} | {after:.4f} | {after - before:+.4f}"
                f"{_interval(result.statistics.get(name, {}).get(metric))} |"
            )
    lines.append(
        f"| tickets (TF-IDF 1-2 gram + LinearSVC, same train docs) | accuracy / macro_f1 | "
        f"{accuracy:.4f} / {macro_f1:.4f} | | |"
    )
    lines.append(knn_against_svm_line(result.model))
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "results" / f"{run_name}.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
