"""Build the evaluators of a run from its eval-set configs, and run them into ``{name: metrics}``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from embedtune.config import EvalSetConfig
from embedtune.data.pairs import PairData
from embedtune.data.readers import load_pairs
from embedtune.errors import ConfigError


@dataclass
class EvalSet:
    """An eval-set config with its loaded data and the evaluator measuring it."""

    name: str
    config: EvalSetConfig
    data: PairData
    evaluator: object


def metric_prefix(config: EvalSetConfig) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", config.display_name).strip("_").lower() or "eval"


def load_eval_sets(configs: list[EvalSetConfig], batch_size: int = 64) -> list[EvalSet]:
    sets: list[EvalSet] = []
    for config in configs:
        name = metric_prefix(config)
        if any(existing.name == name for existing in sets):
            raise ConfigError(f"data.eval: two eval sets are named '{name}'; give each a distinct name:")
        data = load_pairs(config)
        sets.append(EvalSet(name, config, data, build_evaluator(config, data, name, batch_size)))
    return sets


def build_evaluator(config: EvalSetConfig, data: PairData, name: str, batch_size: int = 64):
    from embedtune.evaluation.pair_classification import PairClassificationEvaluator
    from embedtune.evaluation.sts import STSEvaluator

    if config.task == "sts":
        evaluator = STSEvaluator.from_pairs(data, name=name)
    else:
        threshold = load_pairs(config.threshold_data) if config.threshold_data is not None else None
        evaluator = PairClassificationEvaluator.from_pairs(
            data, name=name, threshold_data=threshold, folds=config.folds
        )
    evaluator.batch_size = batch_size
    return evaluator


def evaluate_all(eval_sets: list[EvalSet], model) -> dict[str, dict[str, float]]:
    """``{eval set name: {prefixed metric: value}}``, the shape of each half of metrics.json."""
    return {eval_set.name: {k: float(v) for k, v in eval_set.evaluator(model).items()} for eval_set in eval_sets}
