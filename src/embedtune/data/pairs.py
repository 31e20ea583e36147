"""The in-memory form of every training and evaluation data set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasets import Dataset


@dataclass
class PairData:
    """Validated rows of one data file.

    ``labels`` are already normalised to [0, 1] using the spec's ``score_range``. ``lines`` holds the
    1-based source line (or JSON list index + 1) of each row, so later checks can point at the row.
    """

    source: str
    texts1: list[str]
    texts2: list[str]
    negatives: list[str] | None = None
    labels: list[float] | None = None
    phases: list[str] | None = None
    groups: list[str | None] | None = None  # group of each row's anchor (e.g. its category); None: no group
    lines: list[int] = field(default_factory=list)
    num_classes: int | None = None  # labels are class indices 0..num_classes-1 (e.g. NLI), not scores

    def __len__(self) -> int:
        return len(self.texts1)

    @property
    def kind(self) -> str:
        """``triplets`` (anchor, positive, negative), ``classes`` (pairs with a class label), ``scored`` (pairs with
        a score label) or ``pairs``."""
        if self.negatives is not None:
            return "triplets"
        if self.labels is not None and self.num_classes is not None:
            return "classes"
        return "scored" if self.labels is not None else "pairs"

    def texts(self) -> list[str]:
        """Every text of the data set, in row order, with repeats."""
        return self.texts1 + self.texts2 + (self.negatives or [])

    def subset(self, indices: list[int]) -> PairData:
        def pick(values: list | None) -> list | None:
            return None if values is None else [values[i] for i in indices]

        return PairData(
            source=self.source,
            texts1=pick(self.texts1),
            texts2=pick(self.texts2),
            negatives=pick(self.negatives),
            labels=pick(self.labels),
            phases=pick(self.phases),
            groups=pick(self.groups),
            lines=pick(self.lines) if self.lines else [],
            num_classes=self.num_classes,
        )

    def to_dataset(self) -> Dataset:
        """A ``datasets.Dataset`` in the column order sentence-transformers losses expect (texts first, label last)."""
        from datasets import Dataset

        columns: dict[str, list] = {"anchor": self.texts1, "positive": self.texts2}
        if self.negatives is not None:
            columns["negative"] = self.negatives
        if self.labels is not None:
            cast = int if self.num_classes is not None else float  # class indices for cross-entropy
            columns["label"] = [cast(x) for x in self.labels]
        return Dataset.from_dict(columns)
