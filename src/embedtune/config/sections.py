"""The sections of a run config: pydantic models with every default and a description for each key.

The methods a section names (the loss, the strategy, each eval set's task) are classes of their own, chosen by name
from a registry (:mod:`embedtune.config.methods`); this module holds everything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from embedtune.config.methods import LOSSES, STRATEGIES, EvalSetField, LossField, StrategyField
from embedtune.config.registry import SAVED_RUN
from embedtune.data.spec import DataSpec, StrictModel

DEFAULT_MODEL = "default"


class ModelConfig(StrictModel):
    name: str = Field(
        DEFAULT_MODEL, description="'default' (bundled all-MiniLM-L6-v2), a local folder, or a cached hub id"
    )
    max_seq_length: int | None = Field(
        None, ge=8, description="truncate inputs to this many tokens; None keeps the model's"
    )
    trust_remote_code: bool = Field(False, description="allow custom model code from the model folder")


class WeightSchedule(StrictModel):
    """How a composite component's weight moves during training.

    constant: ``weight`` throughout; step: ``weight`` until ``start``, then ``to``; linear: ``weight`` until
    ``start``, then straight to ``to`` at ``end``, then ``to``. ``start``/``end`` count epochs (fractions allowed)
    or optimizer steps, per ``unit``. Epochs 1-10 at one weight, then another, is ``{kind: step, start: 10}``.
    """

    kind: Literal["constant", "step", "linear"] = Field("constant", description="constant, step or linear")
    to: float | None = Field(None, ge=0, description="step / linear: the weight after the change")
    start: float = Field(0.0, ge=0, description="step / linear: epoch or step where the change begins")
    end: float | None = Field(None, description="linear: epoch or step where ``to`` is reached")
    unit: Literal["epoch", "step"] = Field("epoch", description="what start and end count")

    @model_validator(mode="after")
    def _check(self) -> WeightSchedule:
        if self.kind != "constant" and self.to is None:
            raise ValueError(f"a {self.kind} schedule needs 'to' (the weight after the change)")
        if self.kind == "linear" and (self.end is None or self.end <= self.start):
            raise ValueError("a linear schedule needs end > start")
        if self.kind != "linear" and self.end is not None:
            raise ValueError("'end' belongs to linear schedules only")
        return self


class RehearsalConfig(StrictModel):
    """General-domain pairs replayed during domain training, a guard against forgetting (experience replay)."""

    data: DataSpec = Field(description="general pairs with the same columns as data.train (e.g. STS-B train)")
    ratio: float = Field(
        0.5, gt=0, description="rehearsal pairs added per training pair (per phase with a curriculum)"
    )
    seed: int = Field(0, description="seeds which rehearsal pairs are drawn")


class TaskConfig(StrictModel):
    """A further task trained on the same encoder as data.train (the task named main): own data, loss, weight."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="task name in history.jsonl (not main)")
    data: DataSpec = Field(description="the task's training data")
    loss: LossField = Field(default_factory=lambda: LOSSES.validate({}), description="the task's objective")
    weight: float = Field(1.0, gt=0, description="multiplies the task's loss (with uncertainty: its prior scale)")


class DataConfig(StrictModel):
    train: DataSpec = Field(description="the training pairs (the task named main when data.tasks is set)")
    rehearsal: RehearsalConfig | None = Field(None, description="general pairs mixed into training (anti-forgetting)")
    eval: list[EvalSetField] = Field(default_factory=list, description="evaluated before and after training")
    suite: Path | None = Field(None, description="a suite YAML whose evaluators are added after eval")
    tasks: list[TaskConfig] = Field(
        default_factory=list, description="multi-task: further tasks sharing the encoder, batches drawn per task"
    )

    @model_validator(mode="after")
    def _unique_tasks(self) -> DataConfig:
        names = [task.name for task in self.tasks]
        if "main" in names or len(set(names)) != len(names):
            raise ValueError(f"task names must be unique and not 'main' (data.train is main), got {names}")
        return self


class SuiteConfig(StrictModel):
    """A reusable list of eval sets (``embedtune eval --suite``, ``data.suite``, ``embedtune compare --suite``)."""

    evaluators: list[EvalSetField] = Field(min_length=1, description="eval sets, each as in data.eval")


class GuardSetConfig(StrictModel):
    """One general set the forgetting guard watches: its data, the metric that must not drop, and by how much."""

    data: EvalSetField = Field(description="the set, as a data.eval entry (name, path, task, columns, ...)")
    metric: str | None = Field(None, description="metric that must not drop (default: the set's primary metric)")
    tolerance: float | None = Field(None, ge=0, description="largest allowed drop (default: retention.tolerance)")


class RetentionConfig(StrictModel):
    """The forgetting guard: general-semantics sets measured before and after training.

    A set the run trains on or reports in data.eval is not a guard of anything and is dropped from it (logged).
    """

    enabled: bool = Field(True, description="measure the guard sets before and after training (off: warned about)")
    sets: list[GuardSetConfig] | None = Field(
        None,
        description="default: every general set under ../shared/data (STS-B dev, SICK trial, MSRP val, TrecQA dev)",
    )
    data: EvalSetField | None = Field(None, description="one guard set (older configs): same as sets: [{data: ...}]")
    metric: str | None = Field(None, description="with data: its metric that must not drop (default: primary)")
    tolerance: float = Field(0.01, ge=0, description="largest allowed drop of a set's metric, unless it sets its own")
    fail_on_forgetting: bool = Field(False, description="exit non-zero (code 3) on a larger drop; the model is kept")

    @model_validator(mode="after")
    def _one_form(self, info: ValidationInfo) -> RetentionConfig:
        if self.data is not None and self.sets is not None:
            raise ValueError("give retention.sets or retention.data (one set), not both")
        saved = (info.context or {}).get(SAVED_RUN)  # older run configs wrote metric: spearman with no data
        if self.metric is not None and self.data is None and not saved:
            raise ValueError("retention.metric goes with retention.data; in retention.sets each set has its metric")
        return self

    def guard_sets(self) -> list[GuardSetConfig] | None:
        """The configured sets (``data`` as a one-set list), or None for the defaults."""
        if self.data is not None:
            return [GuardSetConfig(data=self.data, metric=self.metric)]
        return self.sets


class StatisticsConfig(StrictModel):
    """Paired bootstrap of final minus baseline: the same resampled items for both models."""

    resamples: int = Field(1000, ge=0, description="bootstrap resamples; 0 turns intervals off")
    confidence: float = Field(0.95, gt=0, lt=1, description="interval coverage")
    seed: int = Field(0, description="seed of the resampling: same seed, same intervals")


class PhaseConfig(StrictModel):
    """One curriculum phase: the pairs whose phase column equals ``phase``, trained for ``epochs``."""

    phase: str = Field(description="value of the phase column (1, 2, 3 or a name)")
    epochs: int = Field(1, ge=1, description="passes over this phase's pairs")
    lr: float | None = Field(None, gt=0, description="schedule restart only: this phase's peak lr")
    warmup_ratio: float | None = Field(None, ge=0, lt=1, description="schedule restart only: share of the phase")

    @field_validator("phase", mode="before")
    @classmethod
    def _phase_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class CurriculumConfig(StrictModel):
    """Phases trained in order; ``continuous`` runs one lr schedule over all of them, ``restart`` one per phase."""

    phases: list[PhaseConfig] = Field(min_length=1, description="in training order")
    schedule: Literal["continuous", "restart"] = Field("continuous", description="lr schedule across phases")

    @model_validator(mode="after")
    def _check(self) -> CurriculumConfig:
        names = [phase.phase for phase in self.phases]
        if len(set(names)) != len(names):
            raise ValueError(f"each phase may be listed once, got {names}")
        if self.schedule == "continuous" and any(p.lr is not None or p.warmup_ratio is not None for p in self.phases):
            raise ValueError("per-phase lr / warmup_ratio need schedule: restart")
        return self


class UnfreezeStage(StrictModel):
    """From ``epoch`` on, the top ``layers`` encoder layers train (``all``: every layer and the embeddings)."""

    epoch: float = Field(ge=0, description="epoch (fractions allowed) at which this stage begins")
    layers: int | Literal["all"] = Field(description="top encoder layers trainable from then on, or all")

    @field_validator("layers")
    @classmethod
    def _positive(cls, layers: int | str) -> int | str:
        if isinstance(layers, int) and layers < 0:
            raise ValueError("layers must be >= 0 or 'all'")
        return layers


class TrainingConfig(StrictModel):
    lr: float = Field(2e-5, gt=0, description="peak learning rate (AdamW)")
    epochs: float = Field(1.0, gt=0, description="passes over the training data")
    max_steps: int | None = Field(None, ge=1, description="overrides epochs")
    batch_size: int = Field(16, ge=1, description="pairs per step (also the in-batch negatives of mnrl)")
    gradient_accumulation_steps: int = Field(1, ge=1, description="does not add in-batch negatives; see cached_mnrl")
    warmup_steps: int | None = Field(None, ge=0, description="linear warmup, in steps")
    warmup_ratio: float | None = Field(None, ge=0, lt=1, description="linear warmup, as a share of all steps")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay (not on biases and LayerNorm)")
    scheduler: Literal["linear", "cosine", "constant"] = Field(
        "linear", description="learning-rate decay after warmup"
    )
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping")
    eval_steps: int | None = Field(None, ge=1, description="evaluate every N steps (else once per epoch)")
    save_best_model: bool = Field(False, description="end with the checkpoint best on metric_for_best_model")
    metric_for_best_model: str | None = Field(None, description="default: primary metric of the first eval set")
    early_stopping_patience: int | None = Field(None, ge=1, description="evaluations without improvement")
    save_total_limit: int = Field(
        1, ge=1, description="checkpoints kept in <run>/checkpoints while running (plus the best, when selecting)"
    )
    keep_checkpoints: bool = Field(
        False, description="keep <run>/checkpoints when the run is done (else removed: only --resume needs them)"
    )
    logging_steps: int = Field(10, ge=1, description="history.jsonl gets a record every N steps")
    seed: int = Field(42, description="seeds weights init, data order and dropout: same seed, same metrics")
    no_duplicates: bool | None = Field(None, description="no repeated text in a batch; default on for in-batch losses")
    curriculum: CurriculumConfig | None = Field(None, description="train phases in order (epochs then per phase)")
    layer_lr_decay: float | None = Field(
        None, gt=0, le=1, description="layer-wise lr decay: each encoder layer trains at this times the one above"
    )
    head_lr: float | None = Field(
        None, gt=0, description="lr of everything outside the encoder (projection heads, loss-owned projections)"
    )
    interpolate_base: float | None = Field(
        None,
        ge=0,
        le=1,
        description="WiSE-FT: save base + alpha * (tuned - base); smaller alpha forgets less and gains less",
    )
    task_sampling: Literal["proportional", "round_robin"] = Field(
        "proportional", description="multi-task: batches in proportion to data sizes, or in turn until one runs out"
    )
    task_weighting: Literal["fixed", "uncertainty"] = Field(
        "fixed", description="multi-task: fixed task weights, or learned from each task's uncertainty (Kendall 2018)"
    )
    task_weighting_lr: float = Field(
        0.01, gt=0, description="uncertainty weighting: lr of the learned log-variances (own group, no weight decay)"
    )
    unfreeze: list[UnfreezeStage] | None = Field(
        None, description="progressive unfreezing (strategy full): top encoder layers trainable by epoch"
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="where the run computes (training, evaluation, teachers); auto: cuda, then mps, then cpu"
    )
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32", description="mixed precision for training (fp16: CUDA only; bf16: Ampere+ GPU, macOS 14+ mps, or CPU)"
    )
    group_by_length: bool = Field(
        False,
        description="batches of rows of similar length (less padding: tickets), in random order; not with curriculum",
    )
    gradient_checkpointing: bool = Field(
        False, description="recompute activations in the backward pass: less memory for long sequences, ~30% slower"
    )
    report_to: list[str] = Field(
        default_factory=list,
        description="experiment trackers the Trainer logs to (tensorboard, mlflow, wandb, ...); also gets the "
        "final metrics and intervals",
    )

    @model_validator(mode="after")
    def _one_batch_order(self) -> TrainingConfig:
        if self.group_by_length and self.curriculum is not None:
            raise ValueError("training.group_by_length and training.curriculum cannot be combined (one batch order)")
        return self

    @model_validator(mode="after")
    def _one_warmup(self) -> TrainingConfig:
        if self.warmup_steps is not None and self.warmup_ratio is not None:
            raise ValueError("set warmup_steps or warmup_ratio, not both")
        return self


class RunConfig(StrictModel):
    model: ModelConfig = Field(default_factory=ModelConfig, description="which model to start from")
    strategy: StrategyField = Field(default_factory=lambda: STRATEGIES.validate({}), description="which weights train")
    loss: LossField = Field(default_factory=lambda: LOSSES.validate({}), description="the training objective")
    data: DataConfig = Field(description="training and evaluation files")
    training: TrainingConfig = Field(
        default_factory=TrainingConfig, description="optimisation and evaluation schedule"
    )
    retention: RetentionConfig = Field(default_factory=RetentionConfig, description="the forgetting guard")
    statistics: StatisticsConfig = Field(default_factory=StatisticsConfig, description="confidence intervals")
    output_dir: Path | None = Field(None, description="default: runs/<config file stem>")
    eval_batch_size: int = Field(64, ge=1, description="texts per encode call when evaluating")

    @model_validator(mode="after")
    def _tasks_without_curriculum(self) -> RunConfig:
        if self.data.tasks and self.training.curriculum is not None:
            raise ValueError("data.tasks and training.curriculum cannot be combined (one batch order each)")
        return self

    @model_validator(mode="after")
    def _interpolation_needs_base_shapes(self) -> RunConfig:
        if self.training.interpolate_base is not None and not self.strategy.keeps_base_shapes():
            raise ValueError(
                "training.interpolate_base needs the tuned model to have the base's weights: strategy full, or lora "
                "with merge_lora"
            )
        return self

    @model_validator(mode="after")
    def _unfreeze_needs_full(self) -> RunConfig:
        if self.training.unfreeze and not self.strategy.allows_unfreezing:
            raise ValueError(
                f"training.unfreeze needs strategy full (strategy {self.strategy.name} fixes what trains)"
            )
        return self

    @model_validator(mode="after")
    def _losses_fit_the_run(self) -> RunConfig:
        """Each loss checks what it needs from the rest of the run (e.g. group_mnrl: a group column)."""
        for leaf in self.loss.leaves():
            leaf.check_in_run(self, None)
        for task in self.data.tasks:
            for leaf in task.loss.leaves():
                leaf.check_in_run(self, task)
        for key, loss in [
            ("loss", self.loss),
            *((f"data.tasks.{i}.loss", t.loss) for i, t in enumerate(self.data.tasks)),
        ]:
            if not loss.standalone:  # alone it trains the encoder on the regularizer only
                raise ValueError(
                    f"{key}.name: {loss.name} is a regularizer; use it as a component of loss name composite"
                )
        return self
