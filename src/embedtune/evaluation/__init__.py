"""Evaluators that SentenceTransformerTrainer can run, and the pure metric maths behind them."""

from __future__ import annotations

from embedtune.evaluation.embed import encode_unique
from embedtune.evaluation.pair_classification import PairClassificationEvaluator
from embedtune.evaluation.sts import STSEvaluator

__all__ = ["PairClassificationEvaluator", "STSEvaluator", "encode_unique"]
