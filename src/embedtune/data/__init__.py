"""Loading and checking the pair, triplet and scored-pair files embedtune trains and evaluates on."""

from __future__ import annotations

from embedtune.data.checks import warn_data_issues
from embedtune.data.pairs import PairData
from embedtune.data.readers import load_pairs
from embedtune.data.spec import Columns, DataSpec

__all__ = ["Columns", "DataSpec", "PairData", "load_pairs", "warn_data_issues"]
