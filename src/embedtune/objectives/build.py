"""Turn the loss config and the training data into a loss module and a dataset it can consume."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from embedtune.config import LossConfig, MatryoshkaLossConfig, TeacherLossConfig
from embedtune.data.pairs import PairData
from embedtune.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

logger = logging.getLogger("embedtune")


def data_kind(data: PairData) -> str:
    """``binary`` is scored data whose labels are all 0 or 1; losses that need class labels accept only it."""
    if data.kind == "scored" and set(data.labels) <= {0.0, 1.0}:
        return "binary"
    return data.kind


def leaf_losses(config: LossConfig) -> list[LossConfig]:
    return config.leaves()


def uses_in_batch_negatives(config: LossConfig) -> bool:
    return any(leaf.in_batch_negatives for leaf in leaf_losses(config))


def prepare_training_data(data: PairData, config: LossConfig) -> PairData:
    """Check the data fits the loss (every component of a composite); in-batch-negative losses train on the
    positive rows of binary data, so they cannot share it with a component that needs the labels."""
    kind = data_kind(data)
    for leaf in leaf_losses(config):
        if not (kind in leaf.accepts or (kind == "binary" and "scored" in leaf.accepts)):
            raise ConfigError(
                f"loss '{leaf.name}' needs {' or '.join(leaf.accepts)} data but {data.source} holds {kind} rows; "
                "set data.train.columns (label/negative) or pick another loss"
            )
    needs_labels = [leaf.name for leaf in leaf_losses(config) if leaf.needs_labels()]
    if needs_labels and kind in ("pairs", "triplets"):  # a loss taking these may still read labels as configured
        raise ConfigError(f"loss {needs_labels[0]} as configured reads labels; {data.source} holds {kind} rows")
    if kind == "binary" and uses_in_batch_negatives(config):
        if needs_labels:
            raise ConfigError(
                f"loss components {needs_labels} need the 0/1 labels of {data.source}, but an in-batch-negative "
                "component trains on its label-1 rows only; train them on separate data"
            )
        positives = [i for i, label in enumerate(data.labels) if label == 1.0]
        logger.info("%s: %s keeps the %d label-1 pairs of %d", data.source, config.name, len(positives), len(data))
        data = data.subset(positives)
        data.labels = None
    for leaf in dict((type(leaf), leaf) for leaf in leaf_losses(config)).values():
        data = leaf.prepare_data(data)  # once per kind of loss: two group_mnrl components share the group labels
    return data


def build_loss(
    model, config: LossConfig, texts: list[str] | None = None, rehearsal_texts: list[str] | None = None
) -> nn.Module:
    """The configured loss, wrapped in MatryoshkaLoss when ``matryoshka_dims`` is set (capped at the model's size).

    Distillation losses need every text they distill up front: the teacher runs once per distinct text, here, on
    ``texts`` (all training texts) or, for ``distill_texts: rehearsal``, on ``rehearsal_texts`` only.
    """
    caches = _teacher_caches(model, config, {"all": texts or [], "rehearsal": rehearsal_texts or []})
    loss = config.build(model, caches)
    if not isinstance(config, MatryoshkaLossConfig) or config.matryoshka_dims is None:
        return loss
    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss

    width = model.get_embedding_dimension()
    weights = config.matryoshka_weights or [1.0] * len(config.matryoshka_dims)
    by_dim: dict[int, float] = {}
    for dim, weight in zip(config.matryoshka_dims, weights):
        by_dim.setdefault(min(dim, width), weight)
    if max(config.matryoshka_dims) > width:
        logger.warning("loss.matryoshka_dims capped at the model's size %d: %s", width, sorted(by_dim, reverse=True))
    dims = sorted(by_dim, reverse=True)
    return MatryoshkaLoss(model, loss, matryoshka_dims=dims, matryoshka_weights=[by_dim[d] for d in dims])


def _teacher_caches(model, config: LossConfig, texts: dict[str, list[str]]) -> dict:
    """One cache per teacher and text scope, holding the union of the layers (and attention layers) its losses
    need. Teacher ``self`` is the model itself before training: its outputs now are what it should keep."""
    from embedtune.modeling.load import load_model
    from embedtune.objectives.teacher import TeacherCache, teacher_store, transformer_config

    leaves = [leaf for leaf in leaf_losses(config) if isinstance(leaf, TeacherLossConfig)]
    student = transformer_config(model).num_hidden_layers if leaves else 0
    caches = {}
    for path in dict.fromkeys(leaf.teacher for leaf in leaves):
        teacher = model if path == "self" else load_model(path, model.max_seq_length, device=str(model.device))
        count = transformer_config(teacher).num_hidden_layers
        mine = [leaf for leaf in leaves if leaf.teacher == path]
        for scope in dict.fromkeys(leaf.text_scope() for leaf in mine):
            scoped = [leaf for leaf in mine if leaf.text_scope() == scope]
            pooled = {t for leaf in scoped for t in leaf.hidden_layers(student, count).values()}
            attention = {t for leaf in scoped for t in leaf.attention_layers(student, count).values()}
            training = model.training
            store = None if path == "self" else teacher_store(path, model.max_seq_length)
            caches[path, scope] = TeacherCache.build(
                teacher, model, texts[scope], pooled, attention_layers=attention, store=store
            )
            model.train(training)  # building with teacher self put the student in eval mode
        del teacher  # its outputs are cached; the weights are not needed during training
    return caches
