"""The three kinds of method a run config names, each a base config class with its registry.

A loss, a strategy or an eval task is one module in its catalog package (``embedtune.objectives.losses``,
``embedtune.modeling.strategies``, ``embedtune.evaluation.tasks``): a subclass of the base below decorated with
``@LOSSES.register`` (``STRATEGIES``, ``EVAL_TASKS``) that holds only its own settings and builds its object.
Nothing here imports torch; each method imports what it builds when it builds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from embedtune.config.registry import MethodConfig, Registry
from embedtune.data.spec import DataSpec

if TYPE_CHECKING:
    from torch import nn

    from embedtune.config.sections import RunConfig, TaskConfig
    from embedtune.data.pairs import PairData


class LossConfig(MethodConfig):
    """The training objective; ``embedtune losses`` lists each one and the data it needs."""

    name: str = Field("mnrl", description="the loss; its own settings are in its table below")

    #: Data kinds the loss trains on: pairs, triplets, scored, binary (0/1 scores), classes.
    accepts: ClassVar[tuple[str, ...]] = ()
    #: Other rows of the batch are its negatives (the sampler then avoids duplicate texts).
    in_batch_negatives: ClassVar[bool] = False
    #: False for regularizers: only a component of a composite.
    standalone: ClassVar[bool] = True
    #: False when it runs its own forward pass (a component shares the composite's).
    can_be_component: ClassVar[bool] = True

    def leaves(self) -> list[LossConfig]:
        """The losses that see the data: the components of a composite, else the loss itself."""
        return [self]

    def build(self, model: Any, teachers: dict) -> nn.Module:
        """The loss module; ``teachers`` holds the teacher outputs distillation losses read (by teacher, texts)."""
        raise NotImplementedError(f"loss {self.name} cannot be built")

    def prepare_data(self, data: PairData) -> PairData:
        """The training data as this loss reads it, after its kind was checked (default: unchanged)."""
        return data

    def needs_labels(self) -> bool:
        """Whether it reads the data's labels (default: a loss that cannot train on unlabelled pairs does)."""
        return "pairs" not in self.accepts

    def check_in_run(self, config: RunConfig, task: TaskConfig | None) -> None:
        """Checks against the rest of the run config (``task`` None: the main loss); raise ValueError."""

    def describe(self) -> str:
        return self.name


class MatryoshkaLossConfig(LossConfig):
    """A loss that can also train at truncated embedding sizes (sentence-transformers' MatryoshkaLoss)."""

    matryoshka_dims: list[int] | None = Field(
        None, description="train at these truncated sizes too, e.g. [384, 256, 128, 64]"
    )
    matryoshka_weights: list[float] | None = Field(None, description="weight of each matryoshka dim (default 1 each)")

    @model_validator(mode="after")
    def _check_matryoshka(self) -> MatryoshkaLossConfig:
        dims, weights = self.matryoshka_dims, self.matryoshka_weights
        if dims is not None and (not dims or any(d < 1 for d in dims)):
            raise ValueError("matryoshka_dims must be a non-empty list of positive sizes")
        if weights is not None and (dims is None or len(weights) != len(dims)):
            raise ValueError("matryoshka_weights needs matryoshka_dims of the same length")
        return self

    def describe(self) -> str:
        return self.name + (f" + matryoshka {self.matryoshka_dims}" if self.matryoshka_dims else "")


class TeacherLossConfig(LossConfig):
    """A distillation loss: the teacher's outputs on every training text are computed once, before training. Not a
    Matryoshka loss by itself: hidden states and attention maps have no truncated size (score_distill adds it)."""

    #: What layer_map indexes and where it starts: hidden states from 0 (the embeddings); attention from 1.
    layer_kind: ClassVar[tuple[str, int]] = ("hidden states", 0)

    teacher: str | None = Field(
        None,
        description="local SentenceTransformer folder of the teacher; self: the model being trained as it is "
        "before training (self-distillation, no second model)",
    )

    @model_validator(mode="after")
    def _needs_teacher(self) -> TeacherLossConfig:
        if not self.teacher:
            raise ValueError(f"{self.name} needs teacher: a local SentenceTransformer folder (or self)")
        return self

    def text_scope(self) -> Literal["all", "rehearsal"]:
        """Which texts the teacher sees: all training texts, or only data.rehearsal's."""
        return "all"

    def hidden_layers(self, student_layers: int, teacher_layers: int) -> dict[int, int]:
        """Student -> teacher hidden-state layers the loss aligns (mean-pooled); none by default."""
        return {}

    def attention_layers(self, student_layers: int, teacher_layers: int) -> dict[int, int]:
        """Student -> teacher attention layers the loss aligns; none by default."""
        return {}


class StrategyConfig(MethodConfig):
    """Which weights train."""

    name: str = Field("full", description="the strategy; its own settings are in its table below")

    #: training.unfreeze may choose the trainable layers (only when the strategy does not fix them).
    allows_unfreezing: ClassVar[bool] = False

    @classmethod
    def aliases(cls, raw: dict) -> dict:
        """``freeze_base: true`` is the older spelling of ``name: frozen``."""
        freeze = raw.pop("freeze_base", False)
        if not isinstance(freeze, bool):
            raise ValueError(f"freeze_base must be true or false, got {freeze!r}")
        if not freeze:
            return raw
        if raw.setdefault("name", "frozen") != "frozen":
            raise ValueError(f"freeze_base: true contradicts name: {raw['name']}; use name: frozen")
        return raw

    def keeps_base_shapes(self) -> bool:
        """The saved model has the base's weights and shapes (what training.interpolate_base needs)."""
        return True

    def check(self, model: Any) -> None:
        """What can be checked against the loaded model before anything is written (raise ConfigError)."""

    def apply(self, model: Any) -> dict[str, float]:
        """Prepare ``model`` in place; returns extra learning rates by parameter-name pattern."""
        return {}


class EvalSetConfig(DataSpec, MethodConfig):
    """A held-out set measured on the baseline before training and on the tuned model after it."""

    task: str = Field("sts", description="what is measured; each task's own settings are in its table below")
    matryoshka_dims: list[int] | None = Field(None, description="also measure at these truncated embedding sizes")

    common_fields: ClassVar[frozenset[str]] = frozenset(DataSpec.model_fields) | {"matryoshka_dims"}
    #: The file is pairs (read with load_pairs) rather than documents, qrels or other files the task reads itself.
    reads_pairs: ClassVar[bool] = True

    def build(self, data: PairData | None, name: str) -> Any:
        """The evaluator; ``data`` is the loaded pairs when ``reads_pairs``."""
        raise NotImplementedError(f"eval task {self.task} cannot be built")


LOSSES = Registry(LossConfig, "loss", "name", "mnrl", "embedtune.objectives.losses")
STRATEGIES = Registry(StrategyConfig, "strategy", "name", "full", "embedtune.modeling.strategies")
EVAL_TASKS = Registry(EvalSetConfig, "eval task", "task", "sts", "embedtune.evaluation.tasks")

#: Field annotations: one method, chosen by its name, validated and dumped with its own settings only.
LossField = LOSSES.field()
StrategyField = STRATEGIES.field()
EvalSetField = EVAL_TASKS.field()
