"""Rehearsal: general-domain pairs mixed into domain training so the model keeps what it knew.

Fine-tuning on a narrow domain pulls the embedding space towards it and general similarity degrades
(catastrophic forgetting). Replaying a share of general pairs (experience replay) is the simplest
guard that needs no change to the loss: the same objective keeps seeing general data.
"""

from __future__ import annotations

import logging
import random

from embedtune.data.pairs import PairData
from embedtune.errors import ConfigError

logger = logging.getLogger(__name__)


def mix_rehearsal(train: PairData, rehearsal: PairData, ratio: float, seed: int) -> PairData:
    """``train`` plus ``round(ratio * n)`` rehearsal pairs for each phase of ``n`` training pairs.

    Rehearsal pairs take the phase of the group they join, so a curriculum replays general pairs in every
    phase. They are drawn without repeats until the rehearsal set is used up, then it is cycled.
    """
    _check_compatible(train, rehearsal)
    if len(rehearsal) == 0:
        raise ConfigError(f"data.rehearsal: {rehearsal.source} holds no pairs")
    order = list(range(len(rehearsal)))
    random.Random(seed).shuffle(order)
    groups = _phase_counts(train)
    picked: list[int] = []
    phases: list[str] = []
    for phase, count in groups.items():
        wanted = round(ratio * count)
        picked += [order[(len(picked) + i) % len(order)] for i in range(wanted)]
        phases += [phase] * wanted
    added = rehearsal.subset(picked)
    logger.info("rehearsal: %d pairs from %s mixed into %d training pairs", len(added), rehearsal.source, len(train))
    return PairData(
        source=train.source,
        texts1=train.texts1 + added.texts1,
        texts2=train.texts2 + added.texts2,
        negatives=None if train.negatives is None else train.negatives + added.negatives,
        labels=None if train.labels is None else train.labels + added.labels,
        phases=None if train.phases is None else train.phases + phases,
        groups=None if train.groups is None else train.groups + [None] * len(added),  # general pairs: no group
        lines=[*train.lines, *([0] * len(added))] if train.lines else [],
        num_classes=train.num_classes,
    )


def _phase_counts(train: PairData) -> dict[str, int]:
    """Pairs per phase in order of first appearance; one unnamed group without phases."""
    if train.phases is None:
        return {"": len(train)}
    counts: dict[str, int] = {}
    for phase in train.phases:
        counts[phase] = counts.get(phase, 0) + 1
    return counts


def _check_compatible(train: PairData, rehearsal: PairData) -> None:
    """Both sets feed one loss, so they need the same columns: labels with labels, negatives with negatives."""
    if train.num_classes != rehearsal.num_classes:
        raise ConfigError(
            f"data.rehearsal: {rehearsal.source} and {train.source} label differently (classes vs scores, or a "
            "different number of classes); both feed one loss"
        )
    for field, what in (("labels", "a label column"), ("negatives", "a negative column")):
        if (getattr(train, field) is None) != (getattr(rehearsal, field) is None):
            has, lacks = (train, rehearsal) if getattr(train, field) is not None else (rehearsal, train)
            raise ConfigError(
                f"data.rehearsal: {has.source} has {what} but {lacks.source} does not; both feed one loss, "
                "so set the same columns (label/negative) on both"
            )
