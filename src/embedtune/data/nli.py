"""NLI pairs into (anchor, positive, hard negative) triplets for MNRL: entailment positive, contradiction negative."""

from __future__ import annotations

import random

from embedtune.data.pairs import PairData
from embedtune.errors import UserError


def nli_triplets(data: PairData, entailment: int, contradiction: int, seed: int = 0) -> PairData:
    """One triplet per (premise, entailed hypothesis), with a contradicting hypothesis of the same premise.

    ``data`` holds (premise, hypothesis, class index) rows; ``entailment``/``contradiction`` are the class indices.
    Premises without both kinds are skipped. With several contradictions one is drawn (seeded), so a rerun
    gives the same triplets.
    """
    if data.num_classes is None or data.labels is None:
        raise UserError(f"{data.source}: NLI triplets need class labels (set label_classes on the label column)")
    positives: dict[str, list[str]] = {}
    negatives: dict[str, list[str]] = {}
    for premise, hypothesis, label in zip(data.texts1, data.texts2, data.labels):
        if label == entailment:
            positives.setdefault(premise, []).append(hypothesis)
        elif label == contradiction:
            negatives.setdefault(premise, []).append(hypothesis)
    rng = random.Random(seed)
    anchors, kept_positives, kept_negatives = [], [], []
    for premise, entailed in positives.items():
        if premise not in negatives:
            continue
        for hypothesis in entailed:
            anchors.append(premise)
            kept_positives.append(hypothesis)
            kept_negatives.append(rng.choice(negatives[premise]))
    if not anchors:
        raise UserError(f"{data.source}: no premise has both an entailed and a contradicting hypothesis")
    return PairData(
        source=f"{data.source} (NLI triplets)", texts1=anchors, texts2=kept_positives, negatives=kept_negatives
    )
