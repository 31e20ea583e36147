"""The run's model/README.md: sentence-transformers' own model card, plus what embedtune knows and it does not.

sentence-transformers writes the card when the model is saved (architecture, usage, hyperparameters, framework
versions); it cannot know the base model of a local folder, the recipe, or how the tuned model compares with the
untuned one. Those go in a section of their own before "Model Details", in the card's layout.
"""

from __future__ import annotations

import re
from pathlib import Path

from embedtune.evaluation.report import _markdown_table, table_rows
from embedtune.rundir import write_text_atomic

SECTION = "## Fine-tuned with embedtune"
DEFAULT_BASE = "sentence-transformers/all-MiniLM-L6-v2"
_BASE_PLACEHOLDER = re.compile(r"<!-- - \*\*Base model:\*\* .*? -->")


def write_model_card(model_dir: Path, facts: dict[str, str], metrics: dict, statistics: dict, verdict: list[str],
                     confidence: float = 0.95) -> None:  # fmt: skip
    """Add the embedtune section (``facts``: base model, strategy, loss, training data, recipe, guard) to
    ``model_dir``/README.md, or write a card with only that section when the library wrote none."""
    path = model_dir / "README.md"
    card = path.read_text(encoding="utf-8") if path.exists() else "# SentenceTransformer\n"
    card = _BASE_PLACEHOLDER.sub(f"- **Base model:** {facts['base model']}", card, count=1)
    card = _with_tag(card, "embedtune")
    section = _section(facts, metrics, statistics, verdict, confidence)
    at = card.find("\n## Model Details")
    card = card[: at + 1] + section + "\n" + card[at + 1 :] if at >= 0 else card.rstrip("\n") + "\n\n" + section
    write_text_atomic(path, card)


def base_model_name(name: str, resolved: str) -> str:
    """The hub name of the bundled default, else the model as the config names it."""
    return DEFAULT_BASE if name in ("", "default") else (Path(resolved).name if Path(resolved).exists() else name)


def _section(facts: dict[str, str], metrics: dict, statistics: dict, verdict: list[str], confidence: float) -> str:
    lines = [SECTION, ""]
    lines += [f"- **{key[0].upper() + key[1:]}:** {value}" for key, value in facts.items()]
    lines += ["", "### Baseline vs tuned", ""]
    lines += ["The same evaluators on the untuned base model (baseline) and on this model (final):", ""]
    lines += _markdown_table(table_rows(metrics, statistics), bool(statistics), f"{confidence:.0%}")
    if verdict:
        lines += ["", "### Verdict and forgetting check", "", *[f"- {line}" for line in verdict]]
    return "\n".join(lines) + "\n"


def _with_tag(card: str, tag: str) -> str:
    """Add ``tag`` to the front matter's tags list (the hub's search filters read it)."""
    if not card.startswith("---\n") or f"\n- {tag}\n" in card.split("\n---\n", 1)[0]:
        return card
    return card.replace("\ntags:\n", f"\ntags:\n- {tag}\n", 1)
