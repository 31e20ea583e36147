"""Where a data set lives and how its columns map onto embedtune's fields."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DataFormat = Literal["auto", "tsv", "csv", "jsonl", "json"]


class StrictModel(BaseModel):
    """Base for every user-written config section: unknown keys are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Columns(StrictModel):
    """Names of the columns (or JSON keys) holding each field.

    ``None`` for ``text1``/``text2``/``label``/``phase``/``group`` means the format's default: ``sentence1``,
    ``sentence2`` and no label/phase/group for TSV/CSV/JSONL; ``texts1``, ``texts2``, ``labels`` and
    ``phase_indicators`` (each read when present, group only when configured) for the notebook JSON layout.
    """

    text1: str | None = Field(None, description="first text (anchor / sentence1)")
    text2: str | None = Field(None, description="second text (positive / sentence2)")
    negative: str | None = Field(None, description="hard negative text; makes the data triplets")
    label: str | None = Field(None, description="score or 0/1 label; normalised with score_range")
    phase: str | None = Field(None, description="curriculum phase of each pair")
    group: str | None = Field(
        None,
        description="group of each row's anchor (e.g. its category): group_mnrl never uses a same-group text as "
        "an in-batch negative",
    )


class DataSpec(StrictModel):
    """One data file: pairs, triplets, or scored pairs."""

    path: Path = Field(description="TSV/CSV/JSONL/JSON file; relative paths resolve from the config file")
    format: DataFormat = Field("auto", description="auto: from the suffix (.tsv .csv .jsonl .json)")
    columns: Columns = Field(default_factory=Columns, description="column (or key) names of each field")
    score_range: tuple[float, float] = Field(
        (0.0, 1.0), description="[low, high] of the label column; labels are mapped to [0, 1], outside is an error"
    )
    label_classes: list[str] | None = Field(
        None, description="class names of the label column (e.g. NLI: contradiction, entailment, neutral)"
    )
    sample: int | None = Field(
        None, ge=1, description="use a seeded random subset of this many rows (quick runs); None: every row"
    )
    sample_seed: int = Field(0, description="seed of the sample")
    name: str | None = Field(None, description="short name used as metric prefix; default: the file stem")
    quoting: Literal["csv", "none"] = Field(
        "csv",
        description='TSV/CSV quoting: csv (a field may be wrapped in "..." with "" inside, as written by '
        "Python's csv and pandas); none (quotes are plain characters)",
    )

    @model_validator(mode="after")
    def _check_range(self) -> DataSpec:
        low, high = self.score_range
        if not low < high:
            raise ValueError(f"score_range must be [low, high] with low < high, got {list(self.score_range)}")
        classes = self.label_classes
        if classes is not None and (len(classes) < 2 or len(set(classes)) != len(classes)):
            raise ValueError(f"label_classes must name at least two distinct classes, got {classes}")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.path.stem

    def resolved_format(self) -> str:
        if self.format != "auto":
            return self.format
        suffix = self.path.suffix.lower()
        by_suffix = {".tsv": "tsv", ".tab": "tsv", ".txt": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "json"}
        if suffix not in by_suffix:
            from embedtune.errors import DataError

            raise DataError(
                self.path, f"cannot tell the format from suffix '{suffix}'; set format: tsv|csv|jsonl|json"
            )
        return by_suffix[suffix]
