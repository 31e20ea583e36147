"""What a run trains and measures on, loaded and checked before the run dir exists: bad input fails here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from embedtune.config import RunConfig
from embedtune.data.checks import warn_data_issues
from embedtune.data.pairs import PairData
from embedtune.data.readers import load_pairs
from embedtune.data.rehearsal import mix_rehearsal
from embedtune.errors import ConfigError
from embedtune.evaluation.retention import retention_eval_set
from embedtune.evaluation.suite import EvalSet, load_eval_sets, metric_prefix
from embedtune.objectives import prepare_training_data
from embedtune.training.curriculum import CurriculumPlan
from embedtune.training.objective import warn_about_settings

logger = logging.getLogger("embedtune")


@dataclass
class RunInputs:
    train: PairData  # the training pairs, rehearsal pairs mixed in
    eval_sets: list[EvalSet]  # data.eval in order, then the retention set when it is not one of them
    retention_name: str | None  # the eval set the forgetting guard watches
    rehearsal_texts: list[str] = field(default_factory=list)  # every rehearsal-set text (distill_texts)
    tasks: list[PairData] = field(default_factory=list)  # PairData of each data.tasks entry, in order
    curriculum: CurriculumPlan | None = None


def load_run_inputs(config: RunConfig) -> RunInputs:
    """Training pairs (rehearsal mixed in), eval sets, the retention set's name, the rehearsal pairs' texts, the
    tasks' pairs and the curriculum plan."""
    train = prepare_training_data(load_pairs(config.data.train), config.loss)
    retention, added = retention_eval_set(config.retention, config.data.eval)
    eval_configs = [*config.data.eval, retention] if added else list(config.data.eval)
    eval_sets = load_eval_sets(eval_configs, batch_size=config.eval_batch_size)
    eval_data = [eval_set.data for eval_set in eval_sets if eval_set.data is not None]
    warn_data_issues(train, eval_data)
    rehearsal_texts: list[str] = []
    if config.data.rehearsal is not None:
        train, rehearsal_texts = _with_rehearsal(train, config, eval_data)
    warn_about_settings(config)
    if config.training.metric_for_best_model and not config.data.eval:
        raise ConfigError("training.metric_for_best_model is set but data.eval is empty")
    retention_name = metric_prefix(retention) if retention is not None else None
    tasks = [prepare_training_data(load_pairs(task.data), task.loss) for task in config.data.tasks]
    curriculum = config.training.curriculum
    plan = CurriculumPlan.build(train, curriculum) if curriculum is not None else None
    return RunInputs(train, eval_sets, retention_name, rehearsal_texts, tasks, plan)


def _with_rehearsal(train: PairData, config: RunConfig, eval_data: list) -> tuple[PairData, list[str]]:
    settings = config.data.rehearsal
    rehearsal = prepare_training_data(load_pairs(settings.data), config.loss)
    warn_data_issues(rehearsal, eval_data)
    return mix_rehearsal(train, rehearsal, settings.ratio, settings.seed), rehearsal.texts()


def best_metric(config: RunConfig, inputs: RunInputs, baseline: dict) -> str | None:
    """The metric model selection uses, checked against the ``baseline`` measurement: one of the user's eval sets;
    the retention set is watched, never selected on, even when a data.eval set doubles as it."""
    guard = inputs.retention_name
    user_sets = [eval_set for eval_set in inputs.eval_sets[: len(config.data.eval)] if eval_set.name != guard]
    if not user_sets:
        return None
    chosen = config.training.metric_for_best_model or user_sets[0].evaluator.primary_metric
    if guard is not None and chosen in baseline.get(guard, {}):
        raise ConfigError(
            f"training.metric_for_best_model: '{chosen}' belongs to the forgetting guard ({guard}); select on "
            "another eval set"
        )
    known = [metric for eval_set in user_sets for metric in baseline[eval_set.name]]
    if chosen not in known:
        raise ConfigError(f"training.metric_for_best_model: '{chosen}' is not measured; choose one of {known}")
    if config.training.save_best_model or config.training.early_stopping_patience:
        logger.warning(
            "model selection uses %s, so its final numbers are optimistic; report an eval set not used for selection",
            chosen,
        )
    return chosen
