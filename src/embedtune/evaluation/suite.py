"""Build evaluators from eval-set configs (a run's data.eval, or a suite file) and measure models with them."""

from __future__ import annotations

import logging
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from embedtune.config import EvalSetConfig
from embedtune.data.pairs import PairData
from embedtune.data.readers import load_pairs
from embedtune.errors import ConfigError, UserError

logger = logging.getLogger("embedtune")


@dataclass
class EvalSet:
    """An eval-set config with its loaded data and the evaluator measuring it."""

    name: str
    config: EvalSetConfig
    data: PairData | None
    evaluator: object


@dataclass
class Measurement:
    """One model measured on eval sets: metrics, plus the per-item scores bootstrap intervals resample."""

    metrics: dict[str, dict[str, float]]
    items: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def metric_prefix(config: EvalSetConfig) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", config.display_name).strip("_").lower() or "eval"


def load_eval_sets(configs: list[EvalSetConfig], batch_size: int = 64) -> list[EvalSet]:
    sets: list[EvalSet] = []
    for config in configs:
        name = metric_prefix(config)
        if any(existing.name == name for existing in sets):
            raise ConfigError(f"data.eval: two eval sets are named '{name}'; give each a distinct name:")
        data = load_pairs(config) if config.reads_pairs else None
        sets.append(EvalSet(name, config, data, build_evaluator(config, data, name, batch_size)))
    return sets


def build_evaluator(config: EvalSetConfig, data: PairData | None, name: str, batch_size: int = 64):
    """The evaluator for one eval set, wrapped in a Matryoshka evaluator when ``matryoshka_dims`` is set."""
    if config.matryoshka_dims:
        from embedtune.evaluation.matryoshka import MatryoshkaEvaluator

        return MatryoshkaEvaluator(
            lambda dim, inner_name: _evaluator(config, data, inner_name, batch_size),
            config.matryoshka_dims,
            name,
            batch_size,
        )
    return _evaluator(config, data, name, batch_size)


def _evaluator(config: EvalSetConfig, data: PairData | None, name: str, batch_size: int):
    evaluator = config.build(data, name)
    evaluator.batch_size = batch_size
    return evaluator


def category_pairs(texts: list[str], labels: list[str], per_category: int, seed: int, source: str) -> PairData:
    """Seeded, balanced pairs from categorised documents: same category = 1, different = 0, distinct texts only."""
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in zip(texts, labels):
        if text not in by_label[label]:
            by_label[label].append(text)
    categories = sorted(label for label, members in by_label.items() if len(members) >= 2)
    if len(categories) < 2:
        raise UserError(f"{source}: category pairs need at least two categories with two distinct texts each")
    rows: set[tuple[str, str, float]] = set()
    for label in categories:
        others = [other for other in categories if other != label]
        for _ in range(per_category):
            first, second = rng.sample(by_label[label], 2)
            rows.add((first, second, 1.0))
            rows.add((rng.choice(by_label[label]), rng.choice(by_label[rng.choice(others)]), 0.0))
    ordered = sorted(rows)
    rng.shuffle(ordered)
    return PairData(source, [r[0] for r in ordered], [r[1] for r in ordered], labels=[r[2] for r in ordered])


def measure(eval_sets: list[EvalSet], model, label: str = "evaluating") -> Measurement:
    """Metrics of every eval set; per-item scores too where the evaluator supports resampling.

    Resampling evaluators share one embedding cache: a text in several sets (the guard's and the user's) is encoded
    once per model.
    """
    import time

    from tqdm.auto import tqdm

    from embedtune.evaluation.embed import EmbeddingCache

    batch_size = min((getattr(s.evaluator, "batch_size", 64) for s in eval_sets), default=64)
    cache = EmbeddingCache(model, batch_size)
    result = Measurement(metrics={})
    bar = tqdm(eval_sets, desc=label, unit="set", disable=None if len(eval_sets) > 1 else True, leave=False)
    for index, eval_set in enumerate(bar, start=1):
        bar.set_postfix_str(eval_set.name)
        started = time.time()
        result.metrics[eval_set.name] = _measure_one(eval_set, model, cache, result)
        logger.info("%s %s (%d/%d): %.1f s", label, eval_set.name, index, len(eval_sets), time.time() - started)
    return result


def _measure_one(eval_set: EvalSet, model, cache, result: Measurement) -> dict[str, float]:
    evaluator = eval_set.evaluator
    if getattr(evaluator, "bootstrappable", False):
        items = evaluator.item_scores(cache)
        result.items[eval_set.name] = items
        raw = evaluator.prefix_name_to_metrics(evaluator.metrics_from_items(items), evaluator.name)
    else:
        raw = evaluator(model)
    return {key: float(value) for key, value in raw.items()}


def evaluate_all(eval_sets: list[EvalSet], model) -> dict[str, dict[str, float]]:
    """``{eval set name: {prefixed metric: value}}``, the shape of each half of metrics.json."""
    return measure(eval_sets, model).metrics
