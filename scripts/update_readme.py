"""Regenerate the generated blocks of the docs the README links to: the config reference in docs/config.md, the
results tables in docs/results.md (from bench/results/), the speed and memory targets in bench/RESULTS.md and the
distillation ablation in docs/distillation.md.

.venv/bin/python scripts/update_readme.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DOC = ROOT / "docs" / "config.md"
RESULTS_DOC = ROOT / "docs" / "results.md"
DISTILLATION_DOC = ROOT / "docs" / "distillation.md"
PERFORMANCE_DOC = ROOT / "bench" / "RESULTS.md"
sys.path.insert(0, str(ROOT / "scripts"))

from config_reference import reference  # noqa: E402

RESULT_SECTIONS = [
    ("demo", "Demo: bundled service-desk pairs (`make demo`)"),
    ("stsb_vs_plain_st", "Same STS-B training: embedtune vs plain sentence-transformers"),
    ("msrp-lora-mnrl-matryoshka", "LoRA + MNRL + Matryoshka on MSRP, STS-B dev as forgetting check"),
    ("quality", "Untuned models on every set in ../shared/data (`embedtune bench quality`)"),
    ("bootstrap_speed", "Paired bootstrap speed (`python bench/bootstrap_speed.py`)"),
    (
        "tickets-preserve-general-112",
        "IT tickets: recipes/tickets-preserve.yaml (group_mnrl + self-distilled SICK/MSRP rehearsal, 1-1-2), seed 42",
    ),
    ("tickets-preserve-seed43", "IT tickets: the same recipe, training seed 43, rehearsal seed 1"),
    ("tickets-preserve-sick-only", "IT tickets: ablation of that recipe with SICK entailment only as the general set"),
    ("tickets-group-mnrl", "IT tickets: 500 mined positives a category and phase, 1-1-1, full + group_mnrl"),
    (
        "tickets_wise-tickets-group-mnrl",
        "IT tickets: WiSE-FT of the group_mnrl run, alpha chosen on STS-B train (`python bench/tickets_wise.py`)",
    ),
    (
        "tickets-group-mnrl-preserve",
        "IT tickets: the group_mnrl run + self-distillation of the rehearsal texts (teacher self, weight 1000)",
    ),
    ("tickets-group-mnrl-len128-r05", "IT tickets: the group_mnrl run at max_seq_length 128, rehearsal ratio 0.5"),
    ("tickets-rehearsal", "IT tickets: 150 mined pairs a category and phase, 1-1-2, full + cosine, SICK rehearsal"),
    ("tickets_wise", "IT tickets: WiSE-FT of that run, alpha chosen on STS-B train (`python bench/tickets_wise.py`)"),
    ("tickets-curriculum-345-cosine", "IT tickets: 3-4-5 curriculum (60 pairs a category and phase), full + cosine"),
    ("tickets_schedules", "IT tickets: schedules and hard negatives at one budget (`bench/tickets_schedules.py`)"),
    ("tickets-curriculum-444-mnrl-lora", "IT tickets, short run: LoRA + MNRL, 4-4-4"),
    ("tickets-curriculum-2310-cosine-lora", "IT tickets, short run (2-3-10 shortened to 1-1-2): LoRA + cosine"),
    ("distill-balanced", "Balanced distillation: MPNet teacher -> MiniLM on STS-B + SICK NLI"),
    ("isotropy", "Isotropy regularisation on a frozen MiniLM (`python bench/isotropy.py`)"),
    (
        "frozen_cache",
        "Frozen strategy: embedding cache against the encoder every step (`python bench/frozen_cache.py`)",
    ),
    ("throughput", "Training pairs/s against plain sentence-transformers (`python bench/throughput.py`)"),
    ("distill_teacher", "Distillation: teacher cached against run each step (`python bench/distill_teacher.py`)"),
    ("length_batches", "IT tickets: length-grouped against random batches (`python bench/length_batches.py`)"),
    ("ddp_cpu", "2 DDP processes against 1 on the same CPU cores (`python bench/ddp_cpu.py`)"),
    ("mine-scale", "`embedtune mine` at 3k / 30k / 300k documents (`python bench/mine_scale.py`)"),
]


# Speed and memory targets, each measured side by side in one script: (bench/results stem, what, target).
PERFORMANCE = [
    ("throughput", "Training pairs/s against plain sentence-transformers, MNRL and cosine", "at least 1.0x"),
    ("frozen_cache", "Frozen strategy: embedding cache against the encoder every step", "at least 20x, later epochs"),
    (
        "distill_teacher",
        "Distillation: teacher outputs cached against the teacher each step",
        "at least 2x, later epochs",
    ),
    ("length_batches", "Length-grouped against random batches on tickets", "step-time ratio and the final metric"),
    ("ddp_cpu", "2 DDP processes against 1 on the same CPU cores", "throughput ratio and metric difference"),
    ("mine-scale", "`embedtune mine` at 3k / 30k / 300k documents", "log-log slope at most 1.3"),
    ("stsb_vs_plain_st", "A whole STS-B recipe against plain sentence-transformers", "same metric, time and memory"),
    ("bootstrap_speed", "Paired bootstrap speed", "seconds per report"),
    (
        "onnx-speed",
        "Encoding: sentence-transformers fp32 against the ONNX fp32 and int8 exports",
        "int8 at least 2.5x the sentences/s of sentence-transformers fp32, STS-B dev Spearman within 0.005",
    ),
    ("search-scale", "Similar-document search at 100k documents: exact against HNSW", "recall@10 and latency"),
]


def performance_page() -> str:
    """bench/RESULTS.md: every speed and memory target with its command, machine and ratio."""
    parts = [
        "# Speed and memory",
        "",
        "Each section is one script in bench/ that measures both sides in one run, one process after the other and "
        "alone on the machine (two torch processes on 2 cores slow each other several-fold). The command and the "
        "machine head each table. Generated by `scripts/update_readme.py` from bench/results/; rerun a script to "
        "refresh its section. What could not run here (GPU, bf16, several machines) is listed in docs/devices.md.",
        "",
    ]
    for stem, what, target in PERFORMANCE:
        path = ROOT / "bench" / "results" / f"{stem}.md"
        body = path.read_text(encoding="utf-8").strip() if path.exists() else "(not measured yet)"
        parts += [f"## {what}", "", f"Target: {target}.", "", body, ""]
    return "\n".join(parts)


def replace_block(text: str, name: str, body: str, source: Path) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{source.relative_to(ROOT)} has no {name} markers")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def results_block() -> str:
    parts = []
    for stem, title in RESULT_SECTIONS:
        path = ROOT / "bench" / "results" / f"{stem}.md"
        if path.exists():
            parts += [f"### {title}", "", path.read_text(encoding="utf-8").strip(), ""]
    return "\n".join(parts) or "(no benchmark results yet: run the scripts in bench/)"


def update(path: Path, name: str, body: str) -> None:
    text = path.read_text(encoding="utf-8")
    new = replace_block(text, name, body, path)
    if new != text:
        path.write_text(new, encoding="utf-8")
        print(f"updated {path.relative_to(ROOT)}")


def main() -> None:
    update(CONFIG_DOC, "config-reference", reference())
    update(RESULTS_DOC, "results", results_block())
    page = performance_page()
    if not PERFORMANCE_DOC.exists() or PERFORMANCE_DOC.read_text(encoding="utf-8") != page:
        PERFORMANCE_DOC.write_text(page, encoding="utf-8")
        print(f"updated {PERFORMANCE_DOC.relative_to(ROOT)}")
    ablation = ROOT / "bench" / "results" / "distill-ablation.md"
    if ablation.exists():
        update(DISTILLATION_DOC, "ablation-table", ablation.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
