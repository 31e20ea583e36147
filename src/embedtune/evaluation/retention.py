"""The forgetting guard: general semantics measured before and after domain tuning, on every general set at hand.

A fine-tune that wins on the domain but loses on SICK relatedness has traded general semantics for it, however well
it does on STS-B; the report flags each set whose metric drops more than its tolerance, and ``fail_on_forgetting``
turns that into a failed run (the model is still kept). Guard sets are measured before and after training only,
not at every evaluation step: they are a check, not a curve to select on.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from embedtune.config import EvalSetConfig, GuardSetConfig, RunConfig
from embedtune.data.spec import Columns
from embedtune.evaluation.suite import metric_prefix
from embedtune.evaluation.verdict import direction

logger = logging.getLogger("embedtune")
RETENTION_NAME = "retention"  # the name of a retention.data set given without one (older configs)
# The general sets of ../shared/data (dev/trial/val splits), found beside the working directory or beside the
# repository this package runs from: (name, folder/file, task, columns, score range, metric that must not drop).
GENERAL_SETS = (
    ("stsb_dev", "stsb/dev.tsv", "sts", Columns(label="score"), (0.0, 5.0), "spearman"),
    ("sick_trial", "sick/trial.tsv", "sts", Columns(label="score"), (1.0, 5.0), "spearman"),
    ("msrp_val", "msrp/val.tsv", "pairs", Columns(label="label"), (0.0, 1.0), "roc_auc"),
    ("trecqa_dev", "trecqa/dev.tsv", "reranking", Columns(text1="question", text2="answer", label="label"), (0.0, 1.0),
     "map"),
)  # fmt: skip


@dataclass
class Guard:
    """One set the forgetting guard watches in this run: its eval set and the metric (unprefixed) that must hold."""

    config: EvalSetConfig
    name: str
    label: str  # folder/file, how the verdict names the file
    metric: str | None  # None until the evaluator is built: its primary metric
    tolerance: float


def shared_file(relative: str) -> Path | None:
    """``relative`` under ../shared/data beside the working directory, else beside this package's repository."""
    for root in (Path.cwd().parent, Path(__file__).resolve().parents[3].parent):
        if (root / "shared" / "data" / relative).is_file():
            return (root / "shared" / "data" / relative).resolve()
    return None


def default_guard_sets() -> list[GuardSetConfig]:
    """Every general set found under ../shared/data; none when it is absent (the guard is then off, with a notice)."""
    found = []
    for name, relative, task, columns, score_range, metric in GENERAL_SETS:
        if (path := shared_file(relative)) is not None:
            data = EvalSetConfig.create(name=name, path=path, task=task, columns=columns, score_range=score_range)
            found.append(GuardSetConfig(data=data, metric=metric))
    return found


def with_retention_data(config: RunConfig) -> RunConfig:
    """The run config with the default guard sets written in, so config.yaml records what was looked for."""
    settings = config.retention
    if not settings.enabled or settings.guard_sets() is not None:
        return config
    found = default_guard_sets()
    if not found:
        return config
    return config.model_copy(update={"retention": settings.model_copy(update={"sets": found})})


def plan_guards(config: RunConfig) -> tuple[list[Guard], str | None]:
    """The sets this run guards, and why the guard is off when it guards none.

    A set the run trains on (data.train, a task, rehearsal) or reports in data.eval is dropped, with a log line:
    it measures the target, not what the target might cost.
    """
    settings = config.retention
    if not settings.enabled:
        logger.warning("forgetting guard OFF (retention.enabled is false): general semantics will not be checked")
        return [], "retention.enabled is false: general semantics were not checked"
    configured = settings.guard_sets()
    candidates = configured if configured is not None else default_guard_sets()
    if not candidates:
        logger.info("no general sets under ../shared/data: the forgetting guard is off (set retention.sets)")
        return [], "no general set under ../shared/data; set retention.sets to general-semantics sets"
    used = _used_files(config)
    guards: list[Guard] = []
    taken = {metric_prefix(eval_set) for eval_set in config.data.eval}
    for candidate in candidates:
        name, label = _guard_name(candidate, config, configured is not None), _label(Path(candidate.data.path))
        path = Path(candidate.data.path).resolve()
        if (why := used.get((path, candidate.data.task)) or used.get((path, None))) is not None:
            logger.info("forgetting guard: %s (%s) dropped, the run %s", name, label, why)
            continue
        name = f"guard_{name}" if name in taken else name  # never a data.eval set's name
        name = _unique(name, {guard.name for guard in guards})
        data = candidate.data.model_copy(update={"name": name})
        tolerance = candidate.tolerance if candidate.tolerance is not None else settings.tolerance
        guards.append(Guard(data, name, label, candidate.metric, tolerance))
    if not guards:
        return [], "every guard set is trained on or reported by this run; add others in retention.sets"
    return guards, None


def _used_files(config: RunConfig) -> dict[tuple[Path, str | None], str]:
    """(resolved path, eval task) -> how the run uses it: reports it as that task, or trains on it (any task)."""
    used = {(Path(e.path).resolve(), e.task): f"reports it (eval set {e.display_name})" for e in config.data.eval}
    trained = [("data.train", config.data.train), *((f"task {t.name}", t.data) for t in config.data.tasks)]
    if config.data.rehearsal is not None:
        trained.append(("data.rehearsal", config.data.rehearsal.data))
    used.update({(Path(spec.path).resolve(), None): f"trains on it ({where})" for where, spec in trained})
    return used


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... when two guard files would share it (sick/dev.tsv in two folders)."""
    number, candidate = 1, name
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate


def _guard_name(candidate: GuardSetConfig, config: RunConfig, configured: bool) -> str:
    """Its own name, else retention (one set, older configs) or folder_file, as metric keys spell it."""
    path = Path(candidate.data.path)
    name = candidate.data.name or (RETENTION_NAME if configured and config.retention.data else None)
    return metric_prefix(candidate.data.model_copy(update={"name": name or f"{path.parent.name}_{path.stem}"}))


def _label(path: Path) -> str:
    return "/".join(path.parts[-2:])


@dataclass
class RetentionCheck:
    eval_set: str
    metric: str
    baseline: float
    final: float
    tolerance: float
    label: str = ""  # the file, folder/file

    @property
    def drop(self) -> float:
        """How much worse the final model is (positive: worse), whichever way the metric points."""
        return (direction(self.metric) or 1) * (self.baseline - self.final)

    @property
    def forgot(self) -> bool:
        # NaN (a collapsed model's constant cosines give no Spearman) is forgetting, not "within tolerance"
        return not math.isfinite(self.final) or self.drop > self.tolerance

    @property
    def over(self) -> float:
        """The drop beyond the tolerance (above 0: forgot); infinite when the final value is not a number."""
        return self.drop - self.tolerance if math.isfinite(self.final) else math.inf

    def message(self) -> str:
        verdict = "FORGETTING" if self.forgot else "retained"
        return (
            f"{verdict}: {self.metric} on {self.eval_set} went {self.baseline:.4f} -> {self.final:.4f} "
            f"(drop {self.drop:+.4f}, tolerance {self.tolerance:.4f})"
        )


def check_retention(metrics: dict, eval_set: str, metric: str, tolerance: float, label: str = "") -> RetentionCheck:
    key = f"{eval_set}_{metric}"
    baseline, final = metrics["baseline"][eval_set], metrics["final"][eval_set]
    if key not in baseline:
        from embedtune.errors import ConfigError

        raise ConfigError(
            f"retention.metric: '{metric}' is not measured on guard set {eval_set}; it has {sorted(baseline)}"
        )
    return RetentionCheck(eval_set, key, baseline[key], final[key], tolerance, label)


def check_guards(metrics: dict, guards: list[Guard]) -> list[RetentionCheck]:
    """One check per guarded set; each logged, a drop beyond its tolerance as a warning."""
    checks = [check_retention(metrics, g.name, g.metric, g.tolerance, g.label) for g in guards]
    for check in checks:
        (logger.warning if check.forgot else logger.info)("%s", check.message())
    return checks
