"""Name -> loss registry. Each entry reuses a sentence-transformers loss and says which data it needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from embedtune.config import LossConfig
from embedtune.errors import ConfigError


@dataclass(frozen=True)
class LossSpec:
    """A registered loss: how to build it and which data kinds (pairs, triplets, scored, binary) it accepts."""

    name: str
    build: Callable[[object, LossConfig], nn.Module]
    accepts: tuple[str, ...]
    in_batch_negatives: bool
    summary: str


LOSSES: dict[str, LossSpec] = {}


def register_loss(spec: LossSpec) -> LossSpec:
    if spec.name in LOSSES or spec.name != spec.name.lower():
        raise ValueError(f"loss name '{spec.name}' must be lowercase and unique")
    LOSSES[spec.name] = spec
    return spec


def get_loss_spec(name: str) -> LossSpec:
    if name not in LOSSES:
        raise ConfigError(f"loss.name: unknown loss '{name}'; known: {', '.join(sorted(LOSSES))}")
    return LOSSES[name]


def _st_losses():
    from sentence_transformers.sentence_transformer import losses

    return losses


register_loss(
    LossSpec(
        "cosine",
        lambda model, c: _st_losses().CosineSimilarityLoss(model),
        ("scored",),
        False,
        "MSE between the pair cosine and the score normalised to [0, 1] (CosineSimilarityLoss).",
    )
)
register_loss(
    LossSpec(
        "cosent",
        lambda model, c: _st_losses().CoSENTLoss(model, scale=c.scale),
        ("scored",),
        False,
        "CoSENT: ranks pair cosines in the order of their scores; usually stronger than cosine.",
    )
)
register_loss(
    LossSpec(
        "mnrl",
        lambda model, c: _st_losses().MultipleNegativesRankingLoss(model, scale=c.scale),
        ("pairs", "triplets", "binary"),
        True,
        "MultipleNegativesRanking: (anchor, positive[, negative]); other in-batch positives are negatives. "
        "Binary data keeps its label-1 rows.",
    )
)


def _group_mnrl(model, c: LossConfig) -> nn.Module:
    from embedtune.objectives.group_mnrl import GroupMaskedMNRLoss

    return GroupMaskedMNRLoss(model, scale=c.scale)


register_loss(
    LossSpec(
        "group_mnrl",
        _group_mnrl,
        ("pairs", "triplets", "binary"),
        True,
        "MNRL that never uses a text of the anchor's own group (data columns.group, e.g. its category) as an "
        "in-batch negative: no false negatives from pairs mined by category. Binary data keeps its label-1 rows.",
    )
)
register_loss(
    LossSpec(
        "cached_mnrl",
        lambda model, c: _st_losses().CachedMultipleNegativesRankingLoss(
            model, scale=c.scale, mini_batch_size=c.mini_batch_size, show_progress_bar=False
        ),
        ("pairs", "triplets", "binary"),
        True,
        "MNRL with GradCache: large batches in small memory, computed mini_batch_size texts at a time.",
    )
)
register_loss(
    LossSpec(
        "contrastive",
        lambda model, c: _st_losses().ContrastiveLoss(model, margin=c.margin),
        ("binary",),
        False,
        "Contrastive with margin on 0/1 labelled pairs: pull positives together, push negatives beyond the margin.",
    )
)

ANY_DATA = ("pairs", "triplets", "scored", "binary", "classes")


def _regularizer(name: str):
    def build(model, c: LossConfig) -> nn.Module:
        from embedtune.objectives.regularizers import IsotropyLoss, VarianceLoss

        return IsotropyLoss(model) if name == "isotropy" else VarianceLoss(model, target_std=c.target_std)

    return build


register_loss(
    LossSpec(
        "isotropy",
        _regularizer("isotropy"),
        ANY_DATA,
        False,
        "Regularizer (composite only): |mean|^2 + |C/tr C - I/d|^2 of unit embeddings, in [0, 2); 0 when isotropic.",
    )
)
register_loss(
    LossSpec(
        "variance",
        _regularizer("variance"),
        ANY_DATA,
        False,
        "Regularizer (composite only): hinge on the per-dimension std of unit embeddings below target_std.",
    )
)
register_loss(
    LossSpec(
        "composite",
        lambda model, c: None,  # built by objectives.build from its components
        ANY_DATA,
        False,
        "Weighted sum of named components (loss.components), weights constant / step / linear over training.",
    )
)


def _distillation(name: str):
    def build(model, c: LossConfig) -> nn.Module:
        raise ConfigError(f"{name} needs teacher outputs: build it with objectives.build.build_loss(..., texts=...)")

    return build


register_loss(
    LossSpec(
        "score_distill",
        _distillation("score_distill"),
        ("pairs", "scored", "binary", "triplets"),
        False,
        "Student pair cosine regresses on the teacher's (teacher, optionally blended with gold scores: gold_blend).",
    )
)
register_loss(
    LossSpec(
        "attention_distill",
        _distillation("attention_distill"),
        ANY_DATA,
        False,
        "KL between teacher and student attention of mapped layers, compared between words (tokenisers differ).",
    )
)
register_loss(
    LossSpec(
        "feature_distill",
        _distillation("feature_distill"),
        ANY_DATA,
        False,
        "MSE to the teacher's sentence embeddings (and mapped mean-pooled layers: layer_map), learned projection.",
    )
)


def _softmax(model, c: LossConfig) -> nn.Module:
    from embedtune.objectives.nli import NLISoftmaxLoss

    return NLISoftmaxLoss(model, model.get_embedding_dimension(), num_labels=c.num_labels)


register_loss(
    LossSpec(
        "softmax",
        _softmax,
        ("classes",),
        False,
        "NLI classifier on (u, v, |u-v|) (SoftmaxLoss); labels are classes (data.train.label_classes).",
    )
)
