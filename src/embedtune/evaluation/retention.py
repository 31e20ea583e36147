"""The forgetting guard: general semantics measured before and after domain tuning.

A fine-tune that wins on the domain but loses on STS-B has traded general semantics for it; the report flags a
drop larger than the tolerance and ``fail_on_forgetting`` turns it into a failed run (the model is still kept).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from embedtune.config import EvalSetConfig, RetentionConfig
from embedtune.data.spec import Columns

logger = logging.getLogger("embedtune")
RETENTION_NAME = "retention"
# ../shared/data beside the working directory or beside the repository this package runs from.
SHARED_STSB_DEV = Path("shared") / "data" / "stsb" / "dev.tsv"


def default_retention_data() -> EvalSetConfig | None:
    """STS-B dev from ../shared/data when present; None otherwise (the guard is then off, with a notice)."""
    for root in (Path.cwd().parent, Path(__file__).resolve().parents[3].parent):
        path = root / SHARED_STSB_DEV
        if path.exists():
            return EvalSetConfig.create(
                name=RETENTION_NAME,
                path=path.resolve(),
                task="sts",
                columns=Columns(label="score"),
                score_range=(0.0, 5.0),
            )
    return None


def with_retention_data(config):
    """The run config with the default retention set written in, so config.yaml records what was guarded."""
    settings = config.retention
    if not settings.enabled or settings.data is not None:
        return config
    found = default_retention_data()
    if found is None:
        return config
    return config.model_copy(update={"retention": settings.model_copy(update={"data": found})})


def retention_eval_set(config: RetentionConfig, eval_sets: list[EvalSetConfig]) -> tuple[EvalSetConfig | None, bool]:
    """The retention set and whether it must be added (False when a user eval set already measures that file)."""
    if not config.enabled:
        return None, False
    chosen = config.data or default_retention_data()
    if chosen is None:
        logger.info("no retention set (STS-B dev not found under ../shared/data): the forgetting guard is off")
        return None, False
    for existing in eval_sets:
        if Path(existing.path).resolve() == Path(chosen.path).resolve() and existing.task == chosen.task:
            return existing, False
    if config.data is not None and chosen.name is None:
        chosen = chosen.model_copy(update={"name": RETENTION_NAME})
    return chosen, True


@dataclass
class RetentionCheck:
    eval_set: str
    metric: str
    baseline: float
    final: float
    tolerance: float

    @property
    def drop(self) -> float:
        return self.baseline - self.final

    @property
    def forgot(self) -> bool:
        return self.drop > self.tolerance

    def message(self) -> str:
        verdict = "FORGETTING" if self.forgot else "retained"
        return (
            f"{verdict}: {self.metric} on {self.eval_set} went {self.baseline:.4f} -> {self.final:.4f} "
            f"(drop {self.drop:+.4f}, tolerance {self.tolerance:.4f})"
        )


def check_retention(metrics: dict, eval_set: str, metric: str, tolerance: float) -> RetentionCheck:
    key = f"{eval_set}_{metric}"
    baseline, final = metrics["baseline"][eval_set], metrics["final"][eval_set]
    if key not in baseline:
        from embedtune.errors import ConfigError

        raise ConfigError(f"retention.metric: '{metric}' is not measured on {eval_set}; it has {sorted(baseline)}")
    return RetentionCheck(eval_set, key, baseline[key], final[key], tolerance)
