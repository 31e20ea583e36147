"""The run configuration: one YAML file, validated, with every default in this module.

Unknown keys are errors with a did-you-mean suggestion; ``--set a.b=value`` overrides are applied to the
raw mapping before validation so they are checked exactly like the file.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from embedtune.data.spec import DataSpec, StrictModel
from embedtune.errors import ConfigError

DEFAULT_MODEL = "default"


class ModelConfig(StrictModel):
    name: str = Field(
        DEFAULT_MODEL, description="'default' (bundled all-MiniLM-L6-v2), a local folder, or a cached hub id"
    )
    max_seq_length: int | None = Field(
        None, ge=8, description="truncate inputs to this many tokens; None keeps the model's"
    )
    trust_remote_code: bool = Field(False, description="allow custom model code from the model folder")


class StrategyConfig(StrictModel):
    """Which weights train: ``full`` (all), ``lora`` (peft adapters), ``frozen`` (encoder frozen + projection head)."""

    name: Literal["full", "lora", "frozen"] = Field(
        "full", description="full: all weights; lora: peft adapters; frozen: encoder frozen + projection head"
    )
    freeze_base: bool = Field(False, description="same as name: frozen")
    lora_r: int = Field(8, ge=1, description="LoRA rank")
    lora_alpha: int = Field(16, ge=1, description="LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: float = Field(0.1, ge=0.0, lt=1.0, description="dropout on the LoRA branch")
    lora_target_modules: list[str] = Field(["query", "key", "value"], description="module names that get adapters")
    merge_lora: bool = Field(True, description="save model/ with adapters merged (plain model); adapter/ is kept too")
    projection: Literal["linear", "mlp"] = Field("linear", description="head on the frozen encoder")
    projection_dim: int | None = Field(None, ge=1, description="output size of the head; None keeps the model's")
    projection_learning_rate: float | None = Field(None, gt=0, description="head learning rate; None uses training.lr")

    @model_validator(mode="after")
    def _freeze_base_means_frozen(self) -> StrategyConfig:
        if self.freeze_base and self.name != "frozen":
            if "name" in self.model_fields_set:
                raise ValueError(f"freeze_base: true contradicts name: {self.name}; use name: frozen")
            self.name = "frozen"
        return self


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


class ComponentConfig(StrictModel):
    """One named part of a composite objective: a loss, its weight and how the weight changes."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="lowercase name used in history.jsonl and the report")
    loss: LossConfig = Field(description="the component's loss (any loss but composite, cached_mnrl, matryoshka)")
    weight: float = Field(1.0, ge=0, description="initial weight")
    schedule: WeightSchedule = Field(default_factory=WeightSchedule, description="how the weight changes")


REGULARIZERS = ("isotropy", "variance")
LossName = Literal[
    "cosine",
    "cosent",
    "mnrl",
    "group_mnrl",
    "cached_mnrl",
    "contrastive",
    "composite",
    "isotropy",
    "variance",
    "score_distill",
    "feature_distill",
    "attention_distill",
    "softmax",
]
DISTILLATION = ("score_distill", "feature_distill", "attention_distill")


class LossConfig(StrictModel):
    """The training objective; see ``embedtune losses`` for the data each one needs."""

    name: LossName = Field("mnrl", description="see `embedtune losses` for the data each needs")
    scale: float = Field(20.0, gt=0, description="similarity scale of mnrl / group_mnrl / cached_mnrl / cosent")
    margin: float = Field(0.5, ge=0, description="negative-pair margin of the contrastive loss")
    mini_batch_size: int = Field(32, ge=1, description="cached_mnrl: texts per forward pass (memory, not results)")
    matryoshka_dims: list[int] | None = Field(
        None, description="train at these truncated sizes too, e.g. [384, 256, 128, 64]"
    )
    matryoshka_weights: list[float] | None = Field(None, description="weight of each matryoshka dim (default 1 each)")
    target_std: float = Field(
        0.05, gt=0, description="variance: per-dimension std of unit embeddings below which the hinge acts"
    )
    num_labels: int = Field(3, ge=2, description="softmax: number of classes (NLI: 3)")
    teacher: str | None = Field(
        None,
        description="score_distill / feature_distill / attention_distill: local SentenceTransformer folder of the "
        "teacher; self: the model being trained as it is before training (self-distillation, no second model)",
    )
    distill_texts: Literal["all", "rehearsal"] = Field(
        "all",
        description="feature_distill: the texts distilled; rehearsal: only data.rehearsal's (other rows of a batch "
        "are skipped), so with teacher self general texts keep their untuned embeddings while the domain moves",
    )
    layer_map: dict[int, int] | Literal["uniform"] | None = Field(
        None,
        description="feature_distill: student -> teacher layer of mean-pooled hidden states to align; "
        "attention_distill: of attention maps (default uniform). uniform: each student layer to its proportional "
        "teacher layer; none (feature_distill): sentence embeddings only",
    )
    gold_blend: float = Field(
        0.0, ge=0, le=1, description="score_distill: target = (1 - b) teacher cosine + b gold score"
    )
    components: list[ComponentConfig] | None = Field(
        None, description="composite: the weighted parts; the total is the weighted sum"
    )
    balance_share: float = Field(
        0.6, gt=0, le=1, description="composite: warn when one component exceeds this share of the total"
    )
    balance_window: int = Field(50, ge=1, description="composite: optimizer steps the share is averaged over")

    @model_validator(mode="after")
    def _check_matryoshka(self) -> LossConfig:
        dims, weights = self.matryoshka_dims, self.matryoshka_weights
        if dims is not None and (not dims or any(d < 1 for d in dims)):
            raise ValueError("matryoshka_dims must be a non-empty list of positive sizes")
        if weights is not None and (dims is None or len(weights) != len(dims)):
            raise ValueError("matryoshka_weights needs matryoshka_dims of the same length")
        return self

    @model_validator(mode="after")
    def _check_teacher(self) -> LossConfig:
        if self.name in DISTILLATION and not self.teacher:
            raise ValueError(f"{self.name} needs teacher: a local SentenceTransformer folder")
        if self.distill_texts != "all" and self.name != "feature_distill":
            raise ValueError(f"distill_texts belongs to feature_distill, not {self.name}")
        return self

    def leaves(self) -> list[LossConfig]:
        """The losses that see the data: the components of a composite, else the loss itself."""
        return [component.loss for component in self.components] if self.name == "composite" else [self]

    @model_validator(mode="after")
    def _check_components(self) -> LossConfig:
        if self.name != "composite":
            if self.components is not None:
                raise ValueError(f"components belong to loss name composite, not {self.name}")
            return self
        if not self.components:
            raise ValueError("a composite loss needs at least one component")
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique, got {names}")
        for component in self.components:
            if component.loss.name in ("composite", "cached_mnrl") or component.loss.matryoshka_dims:
                raise ValueError(
                    f"component '{component.name}': {component.loss.name} cannot be a component "
                    "(components share one forward pass; composite, cached_mnrl and matryoshka run their own)"
                )
        if self.matryoshka_dims:
            raise ValueError("matryoshka_dims cannot wrap a composite loss")
        return self


ComponentConfig.model_rebuild()


EvalTask = Literal[
    "sts", "pairs", "separability", "reranking", "retrieval", "knn", "category_pairs", "isotropy", "adversarial"
]
TASK_HELP = (
    "sts: Spearman/Pearson vs scores; pairs: ROC-AUC, AP, F1 (0/1 labels); separability: positive vs negative "
    "cosine gap, Cohen's d, overlap; reranking: NDCG@10, MRR@10, MAP, Recall@k over rows grouped by text1; "
    "retrieval: the same over a whole corpus (path = qrels file, plus queries and corpus); "
    "knn: k-NN category accuracy and macro-F1 of documents (text1, label) against an index split; category_pairs: "
    "pair ROC-AUC/F1 on seeded same/different-category pairs of documents; isotropy: mean cosine, per-dim std, "
    "I(W), effective rank of the texts; adversarial: pass/fail of ROC-AUC and F1 on hard pairs"
)


class EvalSetConfig(DataSpec):
    """A held-out set measured on the baseline before training and on the tuned model after it."""

    task: EvalTask = Field("sts", description=TASK_HELP)
    threshold_data: DataSpec | None = Field(None, description="pairs: choose the F1 threshold here, not by k-fold CV")
    folds: int = Field(5, ge=2, description="pairs: k-fold CV for the threshold when threshold_data is absent")
    k: int = Field(5, ge=1, description="knn: neighbours that vote")
    index_fraction: float = Field(0.8, gt=0, lt=1, description="knn: share of documents (stratified) in the index")
    pairs_per_category: int = Field(
        100, ge=1, description="category_pairs: positive (and as many negative) pairs each"
    )
    split_seed: int = Field(0, description="knn / category_pairs: seed of the split and pair sampling")
    min_roc_auc: float = Field(0.70, ge=0, le=1, description="adversarial: pass threshold")
    min_f1: float = Field(0.70, ge=0, le=1, description="adversarial: pass threshold")
    matryoshka_dims: list[int] | None = Field(None, description="also measure at these truncated embedding sizes")
    index: Path | None = Field(None, description="knn: index documents from this file (path holds the queries)")
    queries: Path | None = Field(None, description="retrieval: queries file (id, text)")
    corpus: Path | None = Field(None, description="retrieval: corpus file (id, text[, title])")

    @model_validator(mode="after")
    def _retrieval_files(self) -> EvalSetConfig:
        if self.task == "retrieval" and (self.queries is None or self.corpus is None):
            raise ValueError("task retrieval needs queries and corpus files (path is the qrels file)")
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
    loss: LossConfig = Field(default_factory=LossConfig, description="the task's objective")
    weight: float = Field(1.0, gt=0, description="multiplies the task's loss (with uncertainty: its prior scale)")


class DataConfig(StrictModel):
    train: DataSpec = Field(description="the training pairs (the task named main when data.tasks is set)")
    rehearsal: RehearsalConfig | None = Field(None, description="general pairs mixed into training (anti-forgetting)")
    eval: list[EvalSetConfig] = Field(default_factory=list, description="evaluated before and after training")
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

    evaluators: list[EvalSetConfig] = Field(min_length=1, description="eval sets, each as in data.eval")


class RetentionConfig(StrictModel):
    """The forgetting guard: a general-semantics set measured before and after training."""

    enabled: bool = Field(True, description="measure the retention set before and after training")
    data: EvalSetConfig | None = Field(
        None, description="default: STS-B dev from ../shared/data when present (sts, scores 0..5)"
    )
    metric: str = Field("spearman", description="metric of the retention set that must not drop")
    tolerance: float = Field(0.01, ge=0, description="largest allowed drop of that metric")
    fail_on_forgetting: bool = Field(False, description="exit non-zero (code 3) on a larger drop; the model is kept")


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

    @model_validator(mode="after")
    def _one_warmup(self) -> TrainingConfig:
        if self.warmup_steps is not None and self.warmup_ratio is not None:
            raise ValueError("set warmup_steps or warmup_ratio, not both")
        return self


class RunConfig(StrictModel):
    model: ModelConfig = Field(default_factory=ModelConfig, description="which model to start from")
    strategy: StrategyConfig = Field(default_factory=StrategyConfig, description="which weights train")
    loss: LossConfig = Field(default_factory=LossConfig, description="the training objective")
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
        strategy = self.strategy
        if self.training.interpolate_base is not None and (
            strategy.name == "frozen" or (strategy.name == "lora" and not strategy.merge_lora)
        ):
            raise ValueError(
                "training.interpolate_base needs the tuned model to have the base's weights: strategy full, or lora "
                "with merge_lora"
            )
        return self

    @model_validator(mode="after")
    def _unfreeze_needs_full(self) -> RunConfig:
        if self.training.unfreeze and self.strategy.name != "full":
            raise ValueError(
                f"training.unfreeze needs strategy full (strategy {self.strategy.name} fixes what trains)"
            )
        return self

    @model_validator(mode="after")
    def _group_mnrl_needs_groups(self) -> RunConfig:
        if any(leaf.name == "group_mnrl" for leaf in self.loss.leaves()) and self.data.train.columns.group is None:
            raise ValueError(
                "loss group_mnrl needs data.train.columns.group (the column naming each row's group, e.g. category)"
            )
        return self

    @model_validator(mode="after")
    def _rehearsal_distillation_needs_rehearsal(self) -> RunConfig:
        if any(leaf.distill_texts == "rehearsal" for leaf in self.loss.leaves()) and self.data.rehearsal is None:
            raise ValueError("loss distill_texts: rehearsal needs data.rehearsal (the general pairs to distill)")
        for task in self.data.tasks:
            if any(leaf.distill_texts == "rehearsal" for leaf in task.loss.leaves()):
                raise ValueError(f"task '{task.name}': distill_texts rehearsal is for the main loss (data.rehearsal)")
        return self

    @model_validator(mode="after")
    def _regularizer_not_alone(self) -> RunConfig:
        if self.loss.name in REGULARIZERS:
            raise ValueError(
                f"loss.name: {self.loss.name} is a regularizer; use it as a component of loss name composite"
            )
        return self


def load_config(path: Path, overrides: list[str] = ()) -> RunConfig:
    """Read a YAML run config, apply ``a.b=value`` overrides, validate. Relative data paths resolve from the file."""
    raw = _read_yaml(path)
    for override in overrides:
        _apply_override(raw, override)
    config = _resolve_paths(parse_config(raw, source=str(path)), path.parent)
    if config.data.suite is not None:
        config.data.eval = [*config.data.eval, *load_suite(config.data.suite)]
        config.data.suite = None  # inlined: the saved config.yaml is self-contained
    return config


def load_suite(path: Path) -> list[EvalSetConfig]:
    """The eval sets of a suite file, with paths resolved from the suite file's folder."""
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a suite is a mapping with an 'evaluators' list")
    try:
        suite = SuiteConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{path}: {_describe(error.errors()[0], SuiteConfig)}") from None
    for eval_set in suite.evaluators:
        _resolve_eval_set(eval_set, path.parent)
    return suite.evaluators


def parse_config(raw: Any, source: str = "<config>") -> RunConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping of sections, got {type(raw).__name__}")
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{source}: {_describe(error.errors()[0])}") from None


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def load_run_config(run_dir: Path) -> RunConfig:
    """The resolved config a run saved (paths absolute, defaults filled)."""
    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        raise ConfigError(f"{run_dir}: no config.yaml (not an embedtune run dir)")
    return parse_config(_read_yaml(path), source=str(path))


def config_differences(saved: RunConfig, given: RunConfig) -> list[str]:
    """``key (saved -> given)`` for every setting that differs, output_dir aside."""
    before, after = _flat(saved.model_dump(mode="json")), _flat(given.model_dump(mode="json"))
    keys = [key for key in dict.fromkeys([*before, *after]) if key != "output_dir"]
    return [f"{key} ({before.get(key)!r} -> {after.get(key)!r})" for key in keys if before.get(key) != after.get(key)]


def resumed_config(run_dir: Path, given: RunConfig | None) -> RunConfig:
    """A resume continues the run as it started: its saved config, unchanged. A config that differs is refused."""
    saved = load_run_config(run_dir)
    if given is not None:
        changed = config_differences(saved, given)
        if changed:
            raise ConfigError(
                f"{run_dir}: --resume would change the run: {', '.join(changed)}; resume without a config (the "
                "run's own config.yaml is used) or start a new run"
            )
    return saved


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def input_paths(config: RunConfig) -> tuple[Path, ...]:
    """Every file or folder the run reads: data, eval sets, the model and teachers given as folders."""
    specs = [config.data.train, config.retention.data, *(task.data for task in config.data.tasks)]
    if config.data.rehearsal is not None:
        specs.append(config.data.rehearsal.data)
    found = [spec.path for spec in specs if spec is not None]
    for eval_set in config.data.eval:
        found += [eval_set.path, *(getattr(eval_set, key) for key in ("queries", "corpus", "index"))]
        found.append(eval_set.threshold_data.path if eval_set.threshold_data is not None else None)
    losses = [config.loss, *(task.loss for task in config.data.tasks)]
    teachers = [leaf.teacher for loss in losses for leaf in loss.leaves() if leaf.teacher not in (None, "self")]
    found += [Path(name) for name in (config.model.name, *teachers) if Path(name).exists()]
    return tuple(Path(path) for path in found if path is not None)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config ({error})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: {problem}") from None


def _apply_override(raw: dict, override: str) -> None:
    key, sep, value = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {override!r}: expected key.path=value, e.g. training.lr=3e-5")
    *parents, leaf = key.strip().split(".")
    node = raw
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {override!r}: '{part}' is not a section")
        node = child
    try:
        node[leaf] = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        node[leaf] = value


def _describe(error: dict, root: Any = None) -> str:
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown key '{location}'{_suggestion(error['loc'], root or RunConfig)}"
    if error["type"] == "missing":
        return f"missing required key '{location}'"
    message = error["msg"].removeprefix("Value error, ")
    return f"'{location}': {message}" if location else message


def _suggestion(loc: tuple, root: Any) -> str:
    model: Any = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return ""
        model = _model_of(field.annotation)
        if model is None:
            return ""
    names = list(model.model_fields) if hasattr(model, "model_fields") else []
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else f"; valid keys: {', '.join(names)}"


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside an annotation such as ``DataSpec | None`` or ``list[EvalSetConfig]``."""
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _resolve_spec(spec: DataSpec | None, base: Path) -> None:
    if spec is not None and not spec.path.is_absolute():
        spec.path = (base / spec.path).resolve()


def _resolve_eval_set(eval_set: EvalSetConfig, base: Path) -> None:
    _resolve_spec(eval_set, base)
    _resolve_spec(eval_set.threshold_data, base)
    for key in ("queries", "corpus", "index"):
        value = getattr(eval_set, key)
        if value is not None and not value.is_absolute():
            setattr(eval_set, key, (base / value).resolve())


def _resolve_paths(config: RunConfig, base: Path) -> RunConfig:
    rehearsal = config.data.rehearsal.data if config.data.rehearsal is not None else None
    for spec in (config.data.train, config.retention.data, rehearsal, *(task.data for task in config.data.tasks)):
        _resolve_spec(spec, base)
    for eval_set in config.data.eval:
        _resolve_eval_set(eval_set, base)
    if config.data.suite is not None and not config.data.suite.is_absolute():
        config.data.suite = (base / config.data.suite).resolve()
    model_path = base / config.model.name
    if config.model.name != DEFAULT_MODEL and not Path(config.model.name).is_absolute() and model_path.exists():
        config.model.name = str(model_path.resolve())
    losses = [config.loss, *(task.loss for task in config.data.tasks)]
    leaves = [c.loss for loss in losses for c in (loss.components or [])] + losses
    for leaf in leaves:
        if leaf.teacher in (None, "self") or Path(leaf.teacher).is_absolute():
            continue
        if (base / leaf.teacher).exists():
            leaf.teacher = str((base / leaf.teacher).resolve())
    return config
