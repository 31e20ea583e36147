"""Model-ranked hard negatives swapped into mined category pairs: same budget, nearest wrong-category document."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import mining_config, synthetic_documents

from embedtune.data.mining import mine_category_pairs
from embedtune.data.model_negatives import replace_hard_negatives
from embedtune.errors import UserError


@pytest.fixture(scope="module")
def mined():
    return mine_category_pairs(*synthetic_documents(), mining_config())


def random_embeddings(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, 16))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def hard_negative_rows(data, phase: str = "3") -> list[int]:
    return [k for k in range(len(data)) if data.phases[k] == phase and data.labels[k] == 0.0]


def test_only_the_phase_negatives_change_and_keep_their_count_per_category(mined):
    texts, labels = mined.train_documents
    swapped = replace_hard_negatives(mined, random_embeddings(len(texts)), phase="3")
    slots = hard_negative_rows(mined.train)
    category = dict(zip(texts, labels))
    for k in range(len(mined.train)):
        if k not in slots:
            assert (swapped.train.texts1[k], swapped.train.texts2[k]) == (mined.train.texts1[k], mined.train.texts2[k])
    before = sorted(category[mined.train.texts1[k]] for k in slots)
    assert sorted(category[swapped.train.texts1[k]] for k in slots) == before
    assert all(category[swapped.train.texts1[k]] != category[swapped.train.texts2[k]] for k in slots)
    assert swapped.train.labels == mined.train.labels and swapped.train.phases == mined.train.phases
    assert swapped.summary["hard_negatives"]["pairs"] == len(slots)


def test_each_negative_is_its_anchors_nearest_wrong_category_document(mined):
    texts, labels = mined.train_documents
    embeddings = random_embeddings(len(texts), seed=1)
    swapped = replace_hard_negatives(mined, embeddings, phase="3")
    index = {text: i for i, text in enumerate(texts)}
    pairs = {frozenset((swapped.train.texts1[k], swapped.train.texts2[k])) for k in range(len(swapped.train))}
    assert len(pairs) == len(swapped.train)  # no pair twice
    for k in hard_negative_rows(swapped.train):
        anchor, negative = index[swapped.train.texts1[k]], index[swapped.train.texts2[k]]
        others = [j for j in range(len(texts)) if labels[j] != labels[anchor]]
        scores = embeddings[others] @ embeddings[anchor]
        rank = int(np.sum(scores > embeddings[negative] @ embeddings[anchor] + 1e-9))
        assert rank <= 2  # the nearest, unless that pair was already taken


def test_deterministic_for_a_seed_and_seed_changes_anchors(mined):
    embeddings = random_embeddings(len(mined.train_documents[0]))
    first = replace_hard_negatives(mined, embeddings, "3", seed=0).train
    assert first.texts1 == replace_hard_negatives(mined, embeddings, "3", seed=0).train.texts1
    assert first.texts1 != replace_hard_negatives(mined, embeddings, "3", seed=1).train.texts1


def test_unknown_phase_and_wrong_shape_are_errors(mined):
    embeddings = random_embeddings(len(mined.train_documents[0]))
    with pytest.raises(UserError, match="phase 'nine' has no negatives"):
        replace_hard_negatives(mined, embeddings, "nine")
    with pytest.raises(ValueError, match="embeddings for"):
        replace_hard_negatives(mined, embeddings[:5], "3")
