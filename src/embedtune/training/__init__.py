"""Training: SentenceTransformerTrainer configured from the run config, plus embedtune's callbacks."""

from __future__ import annotations

from embedtune.training.arguments import training_arguments
from embedtune.training.history import HistoryCallback, read_history

__all__ = ["HistoryCallback", "read_history", "training_arguments"]
