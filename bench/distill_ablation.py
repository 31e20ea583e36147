"""What wrecks SICK relatedness in recipes/distill-balanced.yaml: each part off in turn, all general sets measured.

.venv/bin/python bench/distill_ablation.py [--only NAME ...]   (teacher first: ../shared/tools/get-teacher-mpnet
../models/all-mpnet-base-v2 from the repo root). Each variant is the recipe with one change; all are trained with
the same seed and data and measured on STS-B dev, SICK trial, MSRP val and TrecQA dev (paired bootstrap against the
untuned model on the same rows). Finished variants are kept in bench/out/distill-ablation/ and not trained again.
Writes bench/results/distill-ablation.md. About 11 minutes per variant alone on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "recipes"
OUT = ROOT / "bench" / "out" / "distill-ablation"
SICK_TRAIN = "../../shared/data/sick/train.tsv"
# The general sets every variant is measured on (paths as the recipes write them, from recipes/).
GENERAL = [
    {
        "name": "sick_trial",
        "task": "sts",
        "path": "../../shared/data/sick/trial.tsv",
        "columns": {"label": "score"},
        "score_range": [1, 5],
    },
    {"name": "msrp_val", "task": "pairs", "path": "../../shared/data/msrp/val.tsv", "columns": {"label": "label"}},
    {
        "name": "trecqa_dev",
        "task": "reranking",
        "path": "../../shared/data/trecqa/dev.tsv",
        "columns": {"text1": "question", "text2": "answer", "label": "label"},
    },
]
PRIMARY = {"stsb_dev": "spearman", "sick_trial": "spearman", "msrp_val": "roc_auc", "trecqa_dev": "map"}


def _without(raw: dict, component: str) -> dict:
    raw["loss"]["components"] = [c for c in raw["loss"]["components"] if c["name"] != component]
    return raw


def _no_nli(raw: dict) -> dict:
    raw["data"].pop("tasks")
    raw["training"].pop("task_sampling", None)
    return raw


def _constant_sts(raw: dict) -> dict:
    for component in raw["loss"]["components"]:
        if component["name"] == "sts":
            component.pop("schedule")
    return raw


def _nli_mnrl(raw: dict) -> dict:
    task = raw["data"]["tasks"][0]
    columns = {"text1": "anchor", "text2": "positive", "negative": "negative"}  # as embedtune nli-triplets writes
    task["data"] = {"path": str(OUT / "sick-train-triplets.tsv"), "columns": columns, "sample": task["data"]["sample"]}
    task["loss"] = {"name": "mnrl"}
    return raw


def _plain_cosine(raw: dict) -> dict:
    """The control: STS cosine alone at the recipe's constant weight (no teacher, no NLI)."""
    raw = _constant_sts(_no_nli(raw))
    raw["loss"]["components"] = [c for c in raw["loss"]["components"] if c["name"] == "sts"]
    return raw


VARIANTS = {
    "full": ("today's recipe, unchanged", lambda raw: raw),
    "no_nli": ("NLI softmax task off", _no_nli),
    "no_attention": ("attention distillation off", lambda raw: _without(raw, "attention")),
    "no_feature": ("feature distillation off", lambda raw: _without(raw, "feature")),
    "constant_sts": ("STS weight constant 2.0 (no step to 3.0)", _constant_sts),
    "nli_mnrl": (
        "NLI as MNRL triplets (premise, entailed, contradiction; SICK train has 148) instead of 2,000 softmax pairs",
        _nli_mnrl,
    ),
    "sts_only": ("STS cosine term alone (no teacher, no NLI): the control", _plain_cosine),
}


def variant_config(name: str, recipe: Path) -> dict:
    raw = copy.deepcopy(yaml.safe_load(recipe.read_text(encoding="utf-8")))
    raw = VARIANTS[name][1](raw)
    raw["data"]["eval"] = [*raw["data"]["eval"], *copy.deepcopy(GENERAL)]
    raw["training"]["eval_steps"] = 500  # watched twice, never selected on: fewer evaluations, same training
    raw["retention"] = {"enabled": False}  # every general set is an eval set here, measured with its interval
    raw["output_dir"] = str(OUT / name)
    return raw


def train(name: str, recipe: Path) -> None:
    state = OUT / name / "state.json"
    if state.exists() and json.loads(state.read_text()).get("state") == "done":
        print(f"{name}: done earlier, kept")
        return
    # Written next to the recipe so its relative paths (data, teacher) resolve as the recipe's do; removed after.
    config = RECIPES / f".ablation-{name}.yaml"
    config.write_text(yaml.safe_dump(variant_config(name, recipe), sort_keys=False), encoding="utf-8")
    try:
        cmd = [sys.executable, "-m", "embedtune", "train", str(config), "-o", str(OUT / name), "--overwrite"]
        subprocess.run(cmd, check=True)
    finally:
        config.unlink()


def triplets() -> None:
    target = OUT / "sick-train-triplets.tsv"
    if not target.exists():
        exe = [sys.executable, "-m", "embedtune", "nli-triplets"]
        subprocess.run([*exe, str((RECIPES / SICK_TRAIN).resolve()), "-o", str(target)], check=True)


def cell(stats: dict, metrics: dict, name: str) -> str:
    metric = PRIMARY[name]
    stat = stats.get(name, {}).get(f"{name}_{metric}")
    final = metrics["final"].get(name, {}).get(f"{name}_{metric}")
    if stat is None or final is None:
        return "—"
    return f"{final:.4f} ({stat['delta']:+.4f} [{stat['delta_low']:+.4f}, {stat['delta_high']:+.4f}])"


def table() -> str:
    rows = [
        "| variant | change | STS-B dev | SICK trial | MSRP val (ROC-AUC) | TrecQA dev (MAP) | min |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    baseline = None
    for name, (what, _) in VARIANTS.items():
        run = OUT / name
        if not (run / "statistics.json").exists():
            continue
        metrics = json.loads((run / "metrics.json").read_text())
        stats = json.loads((run / "statistics.json").read_text())
        seconds = json.loads((run / "state.json").read_text()).get("seconds", 0)
        baseline = baseline or metrics["baseline"]
        cells = [cell(stats, metrics, s) for s in PRIMARY]
        rows.append(f"| {name} | {what} | {' | '.join(cells)} | {seconds / 60:.1f} |")
    if baseline:
        untuned = [f"{baseline[s][f'{s}_{m}']:.4f}" for s, m in PRIMARY.items()]
        rows.insert(2, f"| untuned | all-MiniLM-L6-v2 | {' | '.join(untuned)} | |")
    return "\n".join(rows)


def class_cosines(model_path: str) -> dict[str, float]:
    """Mean pair cosine of SICK trial per NLI class: where each model puts contradictions relative to neutral pairs."""
    import csv

    from sentence_transformers import SentenceTransformer

    from embedtune.evaluation.embed import encode_pair_cosines

    with open(RECIPES / "../../shared/data/sick/trial.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    model = SentenceTransformer(model_path, device="cpu")
    [cosines] = encode_pair_cosines(model, [([r["sentence1"] for r in rows], [r["sentence2"] for r in rows])])
    found: dict[str, list[float]] = {}
    for row, cosine in zip(rows, cosines):
        found.setdefault(row["entailment"], []).append(float(cosine))
    return {name: sum(values) / len(values) for name, values in sorted(found.items())}


def class_table() -> str:
    """SICK trial's mean relatedness and each model's mean cosine, per NLI class."""
    from embedtune.modeling.load import default_model_path

    models = [("untuned", str(default_model_path()))]
    models += [(name, str(OUT / name / "model")) for name in VARIANTS if (OUT / name / "model").exists()]
    rows = ["| model | contradiction | neutral | entailment | contradiction − neutral |", "|---|---:|---:|---:|---:|"]
    for name, path in models:
        found = class_cosines(path)
        gap = found["contradiction"] - found["neutral"]
        rows.append(
            f"| {name} | {found['contradiction']:.3f} | {found['neutral']:.3f} | {found['entailment']:.3f} "
            f"| {gap:+.3f} |"
        )
    return "\n".join(rows)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=RECIPES / "distill-balanced.yaml")
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), help="variants to train (default: all)")
    parser.add_argument("--table", action="store_true", help="only write the table of the finished variants")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.table:
        triplets()
        for name in args.only or VARIANTS:
            train(name, args.recipe.resolve())
    text = (
        table() + "\n\nMean cosine of SICK trial pairs per NLI class (gold mean relatedness on 1..5: contradiction "
        "3.71, neutral 3.03, entailment 4.65):\n\n" + class_table()
    )
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "distill-ablation.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
