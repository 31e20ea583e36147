"""A confidence interval read from a statistics record, and its one text form.

statistics.json keeps intervals as flat ``{half}_low`` / ``{half}_high`` keys of each metric's record (``half`` is
``baseline``, ``final`` or ``delta``); :meth:`Interval.of` reads one back, or None when it is missing or undefined
(a NaN bound: every resample was NaN). Reports, the verdict and the CLI format it through :meth:`Interval.format`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def finite(value) -> bool:
    """A real, finite number (not a bool, not None, not NaN or infinite)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @classmethod
    def of(cls, record: dict | None, half: str = "delta") -> Interval | None:
        """The ``half`` interval of a statistics record; None without a record or with a missing or non-finite
        bound."""
        if not record:
            return None
        low, high = record.get(f"{half}_low"), record.get(f"{half}_high")
        if not (finite(low) and finite(high)):
            return None
        return cls(low, high)

    @property
    def excludes_zero(self) -> bool:
        """The interval lies strictly above or strictly below 0."""
        return self.low > 0 or self.high < 0

    def format(self, signed: bool = True, digits: int = 4) -> str:
        """``[+0.0500, +0.0700]``; unsigned (``[0.5000, 0.6000]``) for a metric's own value rather than a delta."""
        spec = f"{'+' if signed else ''}.{digits}f"
        return f"[{self.low:{spec}}, {self.high:{spec}}]"

    def __str__(self) -> str:
        return self.format()
