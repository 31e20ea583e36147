"""The run configuration: one YAML file, validated, with every default in the section classes.

``sections`` holds the pydantic models of the sections, ``methods`` the base classes and registries of the
methods a config names (loss, strategy, eval task; each method's class lives beside its implementation), and
``loading`` reading, ``--set`` overrides, one-line errors with did-you-mean, and path resolution.
"""

from __future__ import annotations

from embedtune.config.loading import (
    config_differences,
    config_from_raw,
    dump_config,
    input_paths,
    load_config,
    load_run_config,
    load_suite,
    parse_config,
    resumed_config,
    run_changes,
)
from embedtune.config.methods import (
    EVAL_TASKS,
    LOSSES,
    STRATEGIES,
    EvalSetConfig,
    LossConfig,
    MatryoshkaLossConfig,
    StrategyConfig,
    TeacherLossConfig,
)
from embedtune.config.sections import (
    DEFAULT_MODEL,
    CurriculumConfig,
    DataConfig,
    GuardSetConfig,
    ModelConfig,
    PhaseConfig,
    RehearsalConfig,
    RetentionConfig,
    RunConfig,
    StatisticsConfig,
    SuiteConfig,
    TaskConfig,
    TrainingConfig,
    UnfreezeStage,
    WeightSchedule,
)

__all__ = [
    "DEFAULT_MODEL",
    "EVAL_TASKS",
    "LOSSES",
    "STRATEGIES",
    "CurriculumConfig",
    "DataConfig",
    "EvalSetConfig",
    "LossConfig",
    "MatryoshkaLossConfig",
    "ModelConfig",
    "PhaseConfig",
    "RehearsalConfig",
    "GuardSetConfig",
    "RetentionConfig",
    "RunConfig",
    "StatisticsConfig",
    "StrategyConfig",
    "SuiteConfig",
    "TaskConfig",
    "TeacherLossConfig",
    "TrainingConfig",
    "UnfreezeStage",
    "WeightSchedule",
    "config_differences",
    "config_from_raw",
    "dump_config",
    "input_paths",
    "load_config",
    "load_run_config",
    "load_suite",
    "parse_config",
    "resumed_config",
    "run_changes",
]
