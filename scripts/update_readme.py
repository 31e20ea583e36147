"""Regenerate README.md's generated blocks: the config reference and the results tables from bench/results/.

.venv/bin/python scripts/update_readme.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from config_reference import reference  # noqa: E402

RESULT_SECTIONS = [
    ("demo", "Demo: bundled service-desk pairs (`make demo`)"),
    ("stsb_vs_plain_st", "Same STS-B training: embedtune vs plain sentence-transformers"),
    ("msrp-lora-mnrl-matryoshka", "LoRA + MNRL + Matryoshka on MSRP, STS-B dev as forgetting check"),
    ("quality", "Untuned models on every set in ../shared/data (`embedtune bench quality`)"),
    ("bootstrap_speed", "Paired bootstrap speed (`python bench/bootstrap_speed.py`)"),
    ("tickets-curriculum-345-cosine", "IT tickets: 3-4-5 curriculum, full fine-tuning + cosine, no rehearsal"),
    ("tickets-curriculum-444-mnrl-lora", "IT tickets, preliminary: LoRA + MNRL, 4-4-4"),
    ("tickets-curriculum-2310-cosine-lora", "IT tickets, preliminary (shortened 1-1-2, restart): LoRA + cosine"),
]


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {name} markers")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def results_block() -> str:
    parts = []
    for stem, title in RESULT_SECTIONS:
        path = ROOT / "bench" / "results" / f"{stem}.md"
        if path.exists():
            parts += [f"### {title}", "", path.read_text(encoding="utf-8").strip(), ""]
    return "\n".join(parts) or "(no benchmark results yet: run the scripts in bench/)"


def main() -> None:
    readme = ROOT / "README.md"
    text = replace_block(readme.read_text(encoding="utf-8"), "config-reference", reference())
    text = replace_block(text, "results", results_block())
    readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
