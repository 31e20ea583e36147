"""Where a data set lives and how its columns map onto embedtune's fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    delimiter: str | None = Field(
        None,
        description="TSV/CSV field separator when it is not the format's (tab for .tsv/.txt, comma for .csv), "
        "e.g. ';' for a European-locale Excel export",
    )
    label_map: dict[str, float] | None = Field(
        None,
        description="text labels -> numbers before score_range, e.g. {yes: 1, no: 0}; case-insensitive, and "
        "yes/y/on/true (no/n/off/false) are one key, since YAML reads an unquoted yes as true",
    )

    @field_validator("delimiter")
    @classmethod
    def _check_delimiter(cls, delimiter: str | None) -> str | None:
        if delimiter in ("\\t", "tab"):  # a shell passes --delimiter '\t' as two characters
            return "\t"
        if delimiter is not None and (len(delimiter) != 1 or delimiter in '\r\n"' or delimiter.isalnum()):
            raise ValueError(
                f"delimiter must be one character other than a letter, digit, quote or newline, got {delimiter!r}"
            )
        return delimiter

    @field_validator("label_map", mode="before")
    @classmethod
    def _label_map_keys(cls, mapping: Any) -> Any:
        """Keys as the labels are compared: YAML turns an unquoted yes/no key into a boolean, so map it back."""
        if not isinstance(mapping, dict):
            return mapping
        out: dict[str, Any] = {}
        for key, value in mapping.items():
            name = label_key(key)
            if name in out:
                raise ValueError(f"label_map names {name!r} twice (keys compare case-insensitively, yes = true)")
            out[name] = value
        if not out:
            raise ValueError("label_map must map at least one label")
        return out

    @model_validator(mode="after")
    def _check_range(self) -> DataSpec:
        low, high = self.score_range
        if not low < high:
            raise ValueError(f"score_range must be [low, high] with low < high, got {list(self.score_range)}")
        classes = self.label_classes
        if classes is not None and (len(classes) < 2 or len(set(classes)) != len(classes)):
            raise ValueError(f"label_classes must name at least two distinct classes, got {classes}")
        if classes is not None and self.label_map is not None:
            raise ValueError("set label_map (labels -> numbers) or label_classes (class names), not both")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.path.stem

    def resolved_format(self) -> str:
        if self.format != "auto":
            return self.format
        suffix = self.path.suffix.lower()
        by_suffix = {".tsv": "tsv", ".tab": "tsv", ".txt": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "json"}
        if suffix not in by_suffix and self.delimiter is not None:
            return "csv"  # a delimiter says the file is delimited text whatever its name
        if suffix not in by_suffix:
            from embedtune.errors import DataError

            # Renaming works everywhere; `format:` only in a run config or suite (embedtune mine has no such option).
            raise DataError(
                self.path,
                f"cannot tell the format from suffix '{suffix}'; rename the file to .tsv, .csv, .jsonl or .json "
                "(a run config can instead set format: tsv|csv|jsonl|json)",
            )
        return by_suffix[suffix]


#: YAML 1.1 spellings of true and false: an unquoted ``yes:`` key in a label_map arrives as a boolean.
_TRUE, _FALSE = {"true", "yes", "y", "on"}, {"false", "no", "n", "off"}


def label_key(label: object) -> str:
    """How label_map keys and file labels are compared: stripped, lower-cased, yes/no folded into true/false."""
    if isinstance(label, bool):
        return "true" if label else "false"
    text = str(label).strip().lower()
    return "true" if text in _TRUE else "false" if text in _FALSE else text
