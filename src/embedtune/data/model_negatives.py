"""Hard negatives for mined category pairs ranked by an embedding model instead of TF-IDF.

TF-IDF hard negatives are cross-category documents that share words; the model's hard negatives are the
cross-category documents the model itself confuses with the anchor, which is what the model has to unlearn.
Swapping one for the other at the same count keeps the training budget equal, so the two can be compared.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from embedtune.data.mining import MinedPairs
from embedtune.errors import UserError

logger = logging.getLogger(__name__)


def with_model_hard_negatives(
    mined: MinedPairs, model, model_name: str, phase: str = "3", seed: int = 0
) -> MinedPairs:
    """:func:`replace_hard_negatives` ranked by ``model`` (a SentenceTransformer) embedding the train documents."""
    from embedtune.evaluation.embed import encode_options

    texts = mined.train_documents[0]
    embeddings = model.encode(texts, batch_size=64, **encode_options(model, len(texts)))
    mined = replace_hard_negatives(mined, np.asarray(embeddings, dtype=np.float64), phase, seed)
    mined.summary["hard_negatives"]["model"] = model_name
    return mined


def replace_hard_negatives(mined: MinedPairs, embeddings: np.ndarray, phase: str, seed: int = 0) -> MinedPairs:
    """Swap the label-0 pairs of ``phase`` for each anchor's nearest other-category document under ``embeddings``.

    ``embeddings`` are the l2-normalised vectors of ``mined.train_documents`` in order. Each category keeps its
    number of negatives; anchors are drawn in a seeded random order, and a pair already in the training data
    is skipped in favour of the anchor's next-nearest neighbour, so no pair appears twice.
    """
    texts, labels = mined.train_documents
    if len(embeddings) != len(texts):
        raise ValueError(f"{len(embeddings)} embeddings for {len(texts)} train documents")
    train = mined.train
    slots = [k for k in range(len(train)) if train.phases[k] == phase and train.labels[k] == 0.0]
    if not slots:
        raise UserError(f"mining: phase '{phase}' has no negatives to replace")
    index = {text: i for i, text in enumerate(texts)}
    slot_category = [labels[index[train.texts1[k]]] for k in slots]
    wanted = {category: slot_category.count(category) for category in sorted(set(slot_category))}
    kept = set(range(len(train))) - set(slots)
    taken = {frozenset((index[train.texts1[k]], index[train.texts2[k]])) for k in kept}
    mined_pairs = _nearest_wrong_category(embeddings, np.array(labels), wanted, taken, np.random.default_rng(seed))
    texts1, texts2, cosines = list(train.texts1), list(train.texts2), []
    queues = {category: iter(pairs) for category, pairs in mined_pairs.items()}
    for k, category in zip(slots, slot_category):
        i, j, cosine = next(queues[category])
        texts1[k], texts2[k] = texts[i], texts[j]
        cosines.append(cosine)
    summary = dict(mined.summary)
    summary["hard_negatives"] = {
        "source": "model",
        "phase": phase,
        "pairs": len(slots),
        "model_cosine": {"min": min(cosines), "mean": float(np.mean(cosines)), "max": max(cosines)},
    }
    logger.info("phase %s: %d negatives replaced by the model's nearest wrong-category documents", phase, len(slots))
    return replace(mined, train=replace(train, texts1=texts1, texts2=texts2), summary=summary)


def _nearest_wrong_category(
    embeddings: np.ndarray, labels: np.ndarray, wanted: dict[str, int], taken: set, rng: np.random.Generator
) -> dict[str, list[tuple[int, int, float]]]:
    """Per category: (anchor, nearest not-yet-paired other-category document, cosine) for ``wanted`` anchors."""
    out: dict[str, list[tuple[int, int, float]]] = {}
    for category, count in wanted.items():
        anchors = rng.permutation(np.flatnonzero(labels == category))
        others = np.flatnonzero(labels != category)
        out[category] = []
        for anchor in anchors:
            if len(out[category]) == count:
                break
            scores = embeddings[others] @ embeddings[anchor]
            for position in np.argsort(-scores, kind="stable"):
                key = frozenset((int(anchor), int(others[position])))
                if key not in taken:
                    taken.add(key)
                    out[category].append((int(anchor), int(others[position]), float(scores[position])))
                    break
        if len(out[category]) < count:
            raise UserError(
                f"mining: category '{category}' has {len(anchors)} train documents, too few anchors for "
                f"{count} model hard negatives"
            )
    return out
