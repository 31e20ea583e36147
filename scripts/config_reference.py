"""Print the config reference (every key, type, default, meaning) as Markdown, from the pydantic models.

README.md embeds its output between the config-reference markers; tests/test_readme.py checks they agree.
    .venv/bin/python scripts/config_reference.py
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from embedtune.config import (
    DataConfig,
    EvalSetConfig,
    LossConfig,
    ModelConfig,
    RetentionConfig,
    RunConfig,
    StatisticsConfig,
    StrategyConfig,
    SuiteConfig,
    TrainingConfig,
)
from embedtune.data.spec import Columns, DataSpec

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("(top level)", RunConfig),
    ("model", ModelConfig),
    ("strategy", StrategyConfig),
    ("loss", LossConfig),
    ("data", DataConfig),
    ("data.train (and threshold_data)", DataSpec),
    ("data.train.columns", Columns),
    ("data.eval[] (a data file plus)", EvalSetConfig),
    ("training", TrainingConfig),
    ("retention", RetentionConfig),
    ("statistics", StatisticsConfig),
    ("suite file (embedtune eval --suite, data.suite)", SuiteConfig),
]


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    for noise in ("typing.", "pathlib.", "embedtune.config.", "embedtune.data.spec.", "NoneType"):
        text = text.replace(noise, "None" if noise == "NoneType" else "")
    return text.replace("Literal", "one of ").replace("|", "\\|")


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{value!r}`" if value is not None else "`None`"


def reference() -> str:
    lines = []
    for title, model in SECTIONS:
        lines += [f"**{title}**", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        inherited = set(DataSpec.model_fields) if model is EvalSetConfig else set()
        for name, field in model.model_fields.items():
            if name in inherited:
                continue
            meaning = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference())
