"""Turn the loss config and the training data into a loss module and a dataset it can consume."""

from __future__ import annotations

import logging
from dataclasses import replace

from torch import nn

from embedtune.config import DISTILLATION, LossConfig
from embedtune.data.pairs import PairData
from embedtune.errors import ConfigError
from embedtune.objectives.registry import get_loss_spec

logger = logging.getLogger("embedtune")


def data_kind(data: PairData) -> str:
    """``binary`` is scored data whose labels are all 0 or 1; losses that need class labels accept only it."""
    if data.kind == "scored" and set(data.labels) <= {0.0, 1.0}:
        return "binary"
    return data.kind


def leaf_losses(config: LossConfig) -> list[LossConfig]:
    return config.leaves()


def uses_in_batch_negatives(config: LossConfig) -> bool:
    return any(get_loss_spec(leaf.name).in_batch_negatives for leaf in leaf_losses(config))


def prepare_training_data(data: PairData, config: LossConfig) -> PairData:
    """Check the data fits the loss (every component of a composite); in-batch-negative losses train on the
    positive rows of binary data, so they cannot share it with a component that needs the labels."""
    kind = data_kind(data)
    for leaf in leaf_losses(config):
        spec = get_loss_spec(leaf.name)
        if not (kind in spec.accepts or (kind == "binary" and "scored" in spec.accepts)):
            raise ConfigError(
                f"loss '{spec.name}' needs {' or '.join(spec.accepts)} data but {data.source} holds {kind} rows; "
                "set data.train.columns (label/negative) or pick another loss"
            )
    for leaf in leaf_losses(config):
        if leaf.name == "softmax" and data.num_classes != leaf.num_labels:
            raise ConfigError(
                f"loss softmax has num_labels {leaf.num_labels} but {data.source} has {data.num_classes} label_classes"
            )
    if kind == "binary" and uses_in_batch_negatives(config):
        needs_labels = [leaf.name for leaf in leaf_losses(config) if "pairs" not in get_loss_spec(leaf.name).accepts]
        if needs_labels:
            raise ConfigError(
                f"loss components {needs_labels} need the 0/1 labels of {data.source}, but an in-batch-negative "
                "component trains on its label-1 rows only; train them on separate data"
            )
        positives = [i for i, label in enumerate(data.labels) if label == 1.0]
        logger.info("%s: %s keeps the %d label-1 pairs of %d", data.source, config.name, len(positives), len(data))
        data = data.subset(positives)
        data.labels = None
    if any(leaf.name == "group_mnrl" for leaf in leaf_losses(config)):
        return with_group_labels(data)
    return data


def with_group_labels(data: PairData) -> PairData:
    """group_mnrl reads each row's group id from the label column: groups by sorted name, -1 for no group."""
    from embedtune.objectives.group_mnrl import NO_GROUP

    if data.labels is not None:
        raise ConfigError(f"loss group_mnrl reads the groups of {data.source}; it cannot also take its score labels")
    groups = data.groups or [None] * len(data)
    ids = {name: index for index, name in enumerate(sorted({g for g in groups if g is not None}))}
    return replace(data, labels=[float(NO_GROUP if g is None else ids[g]) for g in groups])


def build_loss(
    model, config: LossConfig, texts: list[str] | None = None, rehearsal_texts: list[str] | None = None
) -> nn.Module:
    """The configured loss, wrapped in MatryoshkaLoss when ``matryoshka_dims`` is set (capped at the model's size).

    Distillation losses need every text they distill up front: the teacher runs once per distinct text, here, on
    ``texts`` (all training texts) or, for ``distill_texts: rehearsal``, on ``rehearsal_texts`` only.
    """
    caches = _teacher_caches(model, config, {"all": texts or [], "rehearsal": rehearsal_texts or []})
    if config.name == "composite":
        return _build_composite(model, config, caches)
    loss = _build_leaf(model, config, caches)
    if config.matryoshka_dims is None:
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


def _build_leaf(model, config: LossConfig, caches: dict) -> nn.Module:
    from embedtune.objectives.distillation import AttentionDistillLoss, FeatureDistillLoss, ScoreDistillLoss

    if config.name == "score_distill":
        return ScoreDistillLoss(model, caches[config.teacher, "all"], gold_blend=config.gold_blend)
    if config.name == "feature_distill":
        cache = caches[config.teacher, config.distill_texts]
        layer_map = _layer_map(model, config, cache.num_layers) or {}
        return FeatureDistillLoss(model, cache, layer_map, skip_unknown=config.distill_texts != "all")
    if config.name == "attention_distill":
        cache = caches[config.teacher, "all"]
        return AttentionDistillLoss(model, cache, _layer_map(model, config, cache.num_layers, default="uniform"))
    return get_loss_spec(config.name).build(model, config)


def _layer_map(model, config: LossConfig, teacher_layers: int, default: str | None = None) -> dict[int, int] | None:
    """Student -> teacher layers: the configured map, or uniform over every student layer."""
    from embedtune.objectives.distillation import uniform_layer_map
    from embedtune.objectives.teacher import transformer_config

    chosen = config.layer_map if config.layer_map is not None else default
    if chosen is None:
        return None
    if chosen == "uniform":
        return uniform_layer_map(transformer_config(model).num_hidden_layers, teacher_layers)
    return dict(chosen)


def _teacher_caches(model, config: LossConfig, texts: dict[str, list[str]]) -> dict:
    """One cache per teacher and text scope, holding the union of the layers (and attention layers) its components
    need. Teacher ``self`` is the model itself before training: its outputs now are what it should keep."""
    from embedtune.modeling.load import load_model
    from embedtune.objectives.teacher import transformer_config

    leaves = [leaf for leaf in leaf_losses(config) if leaf.name in DISTILLATION]
    caches = {}
    for path in dict.fromkeys(leaf.teacher for leaf in leaves):
        teacher = model if path == "self" else load_model(path, model.max_seq_length)
        count = transformer_config(teacher).num_hidden_layers
        mine = [leaf for leaf in leaves if leaf.teacher == path]
        for scope in dict.fromkeys(leaf.distill_texts for leaf in mine):
            scoped = [leaf for leaf in mine if leaf.distill_texts == scope]
            caches[path, scope] = _teacher_cache(model, teacher, scoped, texts[scope], count)
        del teacher  # its outputs are cached; the weights are not needed during training
    return caches


def _teacher_cache(model, teacher, leaves: list[LossConfig], texts: list[str], count: int):
    from embedtune.objectives.teacher import TeacherCache

    pooled = {
        t for leaf in leaves if leaf.name == "feature_distill" for t in (_layer_map(model, leaf, count) or {}).values()
    }
    attention = {
        t
        for leaf in leaves
        if leaf.name == "attention_distill"
        for t in _layer_map(model, leaf, count, "uniform").values()
    }
    training = model.training
    cache = TeacherCache.build(teacher, model, texts, pooled, attention_layers=attention)
    model.train(training)  # building with teacher self put the student in eval mode
    return cache


def _build_composite(model, config: LossConfig, caches: dict) -> nn.Module:
    from embedtune.objectives.composite import CompositeLoss

    parts = {c.name: _build_leaf(model, c.loss, caches) for c in config.components}
    for name, part in parts.items():
        if not hasattr(part, "compute_loss_from_embeddings") and not hasattr(part, "compute_loss_from_forward"):
            raise ConfigError(f"loss component '{name}': {type(part).__name__} cannot share a forward pass")
    weights = {c.name: c.weight for c in config.components}
    return CompositeLoss(model, parts, weights, {c.name: c.schedule for c in config.components})
