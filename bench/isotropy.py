"""The three isotropy recipes against the untuned model: STS-B dev, TrecQA dev reranking, isotropy, per-dim std.

    .venv/bin/python bench/isotropy.py

Each recipe trains only a linear projection (identity-initialised) on a frozen MiniLM, with a composite of a
contrastive loss (margin 0.1), the isotropy regulariser and the variance hinge, on MSRP train. Writes
bench/results/isotropy.md.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ["isotropy-c01-i10", "isotropy-c05-i10", "isotropy-c01-i20"]
COLUMNS = [
    ("STS-B dev Spearman", "stsb_dev", "stsb_dev_spearman"),
    ("TrecQA dev NDCG@10", "trecqa_dev", "trecqa_dev_ndcg@10"),
    ("isotropy I(W)", "stsb_dev_isotropy", "stsb_dev_isotropy_isotropy"),
    ("mean cosine", "stsb_dev_isotropy", "stsb_dev_isotropy_mean_cosine"),
    ("std per dim", "stsb_dev_isotropy", "stsb_dev_isotropy_std_per_dim"),
]


def _row(label: str, metrics: dict, statistics: dict | None = None) -> str:
    from embedtune.evaluation.interval import Interval

    cells = []
    for _, name, key in COLUMNS:
        value = metrics[name][key]
        stat = (statistics or {}).get(name, {}).get(key)
        found = Interval.of(stat)
        interval = f" ({stat['delta']:+.3f} {found.format(digits=3)})" if found else ""
        cells.append(f"{value:.4f}{interval}")
    return f"| {label} | " + " | ".join(cells) + " |"


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from embedtune.config import load_config
    from embedtune.pipeline import run_training

    rows, baseline, minutes = [], None, []
    for stem in RECIPES:
        config = load_config(ROOT / "recipes" / f"{stem}.yaml")
        result = run_training(config, ROOT / "bench" / "out" / stem, overwrite=True)
        baseline = result.metrics["baseline"]
        weights = {c.name: c.weight for c in config.loss.components}
        label = f"`{stem}`: λc {weights['contrastive']:g}, λiso {weights['isotropy']:g}, λreg {weights['reg']:g}"
        rows.append(_row(label, result.metrics["final"], result.statistics))
        minutes.append(result.seconds / 60)
    header = " | ".join(title for title, _, _ in COLUMNS)
    lines = [
        "Command: `python bench/isotropy.py` — frozen MiniLM + linear projection (lr 5e-4), contrastive (margin 0.1) "
        f"+ isotropy + variance on MSRP train, 1 epoch; {sum(minutes):.1f} min for the three runs on 2 CPU cores. "
        "Brackets: delta vs untuned [95% paired bootstrap] where the metric has per-item scores.",
        "",
        f"| model | {header} |",
        "|---|" + "---:|" * len(COLUMNS),
        _row("untuned all-MiniLM-L6-v2", baseline),
        *rows,
    ]
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "results" / "isotropy.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
