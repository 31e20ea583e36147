"""Print the config reference (every key, type, default, meaning) as Markdown, from the pydantic models.

docs/config.md embeds its output between the config-reference markers; tests/cli/test_readme.py checks they agree.
    .venv/bin/python scripts/config_reference.py
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from embedtune.config import (
    EVAL_TASKS,
    LOSSES,
    STRATEGIES,
    DataConfig,
    EvalSetConfig,
    GuardSetConfig,
    LossConfig,
    ModelConfig,
    RetentionConfig,
    RunConfig,
    StatisticsConfig,
    StrategyConfig,
    SuiteConfig,
    TrainingConfig,
    WeightSchedule,
)
from embedtune.config.registry import Registry
from embedtune.data.spec import Columns, DataSpec
from embedtune.objectives.losses.composite import ComponentConfig, CompositeLossConfig

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("(top level)", RunConfig),
    ("model", ModelConfig),
    ("strategy (the keys every strategy has; its own below)", StrategyConfig),
    ("loss (the keys every loss has; its own below)", LossConfig),
    ("data", DataConfig),
    ("data.train (and threshold_data)", DataSpec),
    ("data.train.columns", Columns),
    ("data.eval[] (a data file plus; each task's own keys below)", EvalSetConfig),
    ("training", TrainingConfig),
    ("retention", RetentionConfig),
    ("retention.sets[] (data: an eval set as in data.eval[])", GuardSetConfig),
    ("statistics", StatisticsConfig),
    ("suite file (embedtune eval --suite, data.suite)", SuiteConfig),
]
#: One table per registered method, in registry order: what its name is, then the keys only it has.
METHODS: list[tuple[str, Registry]] = [("strategy", STRATEGIES), ("loss", LOSSES), ("data.eval[]", EVAL_TASKS)]


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    # a method field (Annotated[<base>, SerializeAsAny(), BeforeValidator(...)]) reads as its base class
    text = re.sub(r"typing\.Annotated\[([\w.]+), SerializeAsAny\(\), BeforeValidator\(.*?\)\]", r"\1", text)
    for noise in ("typing.", "pathlib.", "NoneType"):
        text = text.replace(noise, "None" if noise == "NoneType" else "")
    text = re.sub(r"embedtune\.[\w.]*\.(\w+)", r"\1", text)
    return text.replace("Literal", "one of ").replace("|", "\\|")


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{value!r}`" if value is not None else "`None`"


def _table(title: str, model: type[BaseModel], keys: list[str], intro: str = "") -> list[str]:
    lines = [f"**{title}**", ""] + ([intro, ""] if intro else [])
    if not keys:
        return [*lines, "no keys of its own", ""]
    lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name in keys:
        field = model.model_fields[name]
        meaning = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {meaning} |")
    return [*lines, ""]


def reference() -> str:
    lines = []
    for title, model in SECTIONS:
        inherited = set(DataSpec.model_fields) if model is EvalSetConfig else set()
        lines += _table(title, model, [name for name in model.model_fields if name not in inherited])
    for section, registry in METHODS:
        for name, method in registry.items():
            summary = method.summary.replace("|", "\\|")
            if issubclass(method, LossConfig):
                summary += f" Data: {' or '.join(method.accepts)}."
            lines += _table(f"{section} {registry.key}: {name}", method, method.own_settings(), summary)
            if method is CompositeLossConfig:
                lines += _table("loss.components[] (composite)", ComponentConfig, list(ComponentConfig.model_fields))
                lines += _table("loss.components[].schedule", WeightSchedule, list(WeightSchedule.model_fields))
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference())
