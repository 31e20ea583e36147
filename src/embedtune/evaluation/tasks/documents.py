"""What the document tasks (knn, category_pairs) share: the file holds labelled documents, not pairs."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from embedtune.config.methods import EvalSetConfig


class DocumentTaskConfig(EvalSetConfig):
    """Documents (text1: the text, default column ``text``; label: the category, default ``category``)."""

    split_seed: int = Field(0, description="seed of the split and pair sampling")

    reads_pairs: ClassVar = False

    def documents(self, path: Path | None = None) -> tuple[list[str], list[str]]:
        from embedtune.data.documents import load_documents

        columns = (self.columns.text1 or "text", self.columns.label or "category")
        return load_documents(path or self.path, *columns, self.format, self.delimiter)
