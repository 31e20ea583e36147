"""What a run trains and measures on, loaded and checked before the run dir exists: bad input fails here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from embedtune.config import RunConfig
from embedtune.data.checks import warn_data_issues
from embedtune.data.pairs import PairData
from embedtune.data.readers import load_pairs
from embedtune.data.rehearsal import mix_rehearsal
from embedtune.errors import ConfigError, UnmeasuredMetricError
from embedtune.evaluation.retention import Guard, plan_guards
from embedtune.evaluation.suite import EvalSet, load_eval_sets
from embedtune.evaluation.verdict import direction
from embedtune.objectives import prepare_training_data
from embedtune.training.curriculum import CurriculumPlan
from embedtune.training.objective import warn_about_settings

logger = logging.getLogger("embedtune")


@dataclass
class RunInputs:
    train: PairData  # the training pairs, rehearsal pairs mixed in
    eval_sets: list[EvalSet]  # data.eval in order, then the forgetting guard's sets
    guards: list[Guard]  # what the forgetting guard watches (each an eval set after data.eval)
    rehearsal_texts: list[str] = field(default_factory=list)  # every rehearsal-set text (distill_texts)
    tasks: list[PairData] = field(default_factory=list)  # PairData of each data.tasks entry, in order
    curriculum: CurriculumPlan | None = None
    guard_off: str | None = None  # why nothing is guarded, when nothing is

    @property
    def targets(self) -> list[EvalSet]:
        """The user's eval sets (data.eval), without the guard's."""
        guarded = {guard.name for guard in self.guards}
        return [eval_set for eval_set in self.eval_sets if eval_set.name not in guarded]


def load_run_inputs(config: RunConfig) -> RunInputs:
    """Training pairs (rehearsal mixed in), eval sets, the guarded sets, the rehearsal pairs' texts, the tasks'
    pairs and the curriculum plan."""
    train = prepare_training_data(load_pairs(config.data.train), config.loss)
    guards, guard_off = plan_guards(config)
    eval_configs = [*config.data.eval, *(guard.config for guard in guards)]
    eval_sets = load_eval_sets(eval_configs, batch_size=config.eval_batch_size)
    for guard, eval_set in zip(guards, eval_sets[len(config.data.eval) :]):
        guard.metric = guard.metric or eval_set.evaluator.primary_metric.removeprefix(f"{eval_set.name}_")
    eval_data = [eval_set.data for eval_set in eval_sets if eval_set.data is not None]
    warn_data_issues(train, eval_data)
    rehearsal_texts: list[str] = []
    if config.data.rehearsal is not None:
        train, rehearsal_texts = _with_rehearsal(train, config, eval_data)
    warn_about_settings(config)
    if config.training.metric_for_best_model and not config.data.eval:
        raise ConfigError("training.metric_for_best_model is set but data.eval is empty")
    tasks = [prepare_training_data(load_pairs(task.data), task.loss) for task in config.data.tasks]
    curriculum = config.training.curriculum
    plan = CurriculumPlan.build(train, curriculum) if curriculum is not None else None
    return RunInputs(train, eval_sets, guards, rehearsal_texts, tasks, plan, guard_off)


def _with_rehearsal(train: PairData, config: RunConfig, eval_data: list) -> tuple[PairData, list[str]]:
    settings = config.data.rehearsal
    rehearsal = prepare_training_data(load_pairs(settings.data), config.loss)
    warn_data_issues(rehearsal, eval_data)
    return mix_rehearsal(train, rehearsal, settings.ratio, settings.seed), rehearsal.texts()


def best_metric(config: RunConfig, inputs: RunInputs, baseline: dict) -> str | None:
    """The metric model selection uses, checked against the ``baseline`` measurement: one of the user's eval sets;
    the guard's sets are watched, never selected on."""
    user_sets = inputs.targets
    if not user_sets:
        return None
    chosen = config.training.metric_for_best_model or user_sets[0].evaluator.primary_metric
    for guard in inputs.guards:
        if chosen in baseline.get(guard.name, {}):
            raise ConfigError(
                f"training.metric_for_best_model: '{chosen}' belongs to the forgetting guard ({guard.name}); select "
                "on another eval set"
            )
    known = [metric for eval_set in user_sets for metric in baseline[eval_set.name]]
    if chosen not in known:
        raise UnmeasuredMetricError(chosen, known)
    if direction(chosen) == 0:
        raise ConfigError(f"training.metric_for_best_model: '{chosen}' is a setting, not a quality; select on another")
    if config.training.save_best_model or config.training.early_stopping_patience:
        logger.warning(
            "model selection uses %s, so its final numbers are optimistic; report an eval set not used for selection",
            chosen,
        )
    return chosen
