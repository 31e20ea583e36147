"""training.group_by_length: batches of similar length, every row once, seeded, no duplicate text where asked."""

from __future__ import annotations

import random

import pytest
from datasets import Dataset
from helpers import Captured, run_config

from embedtune.config import parse_config
from embedtune.errors import ConfigError
from embedtune.pipeline import run_training
from embedtune.training.length_batches import LengthGroupedBatchSampler, LengthGroupedNoDuplicatesBatchSampler


def dataset(rows: int, seed: int = 0, repeats: int = 0) -> Dataset:
    rng = random.Random(seed)
    first = [" ".join(["word"] * rng.randint(1, 60)) + f" {i}" for i in range(rows)]
    first[:repeats] = ["the same text"] * repeats  # texts that must not share a batch under no_duplicates
    return Dataset.from_dict({"sentence1": first, "sentence2": [f"other {i}" for i in range(rows)]})


def spread(batches, data) -> float:
    """Mean over batches of (longest - shortest) first text: the padding a batch carries."""
    lengths = [len(text) for text in data["sentence1"]]
    return sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)


def test_every_row_once_in_batches_of_similar_length():
    data = dataset(1000)
    sampler = LengthGroupedBatchSampler(data, batch_size=16, drop_last=False, seed=3)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert len(batches) == len(sampler) and max(len(b) for b in batches) == 16
    shuffled = list(range(1000))
    random.Random(0).shuffle(shuffled)
    plain = [shuffled[i : i + 16] for i in range(0, 1000, 16)]
    assert spread(batches, data) < spread(plain, data) / 5  # long and short texts no longer share a batch


def test_the_order_is_a_function_of_seed_and_epoch():
    data = dataset(300)
    one, two = (LengthGroupedBatchSampler(data, 16, False, seed=3) for _ in range(2))
    assert list(one) == list(two)
    two.set_epoch(1)
    assert list(one) != list(two)


def test_no_text_twice_in_a_batch_when_the_loss_needs_it():
    data = dataset(200, repeats=40)
    sampler = LengthGroupedNoDuplicatesBatchSampler(data, batch_size=16, drop_last=False, seed=0)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(200))
    for batch in batches:
        texts = [data["sentence1"][i] for i in batch]
        assert len(texts) == len(set(texts))
    assert len(batches) == len(sampler)


def test_the_trainer_batches_by_length(tmp_path, tiny_model_dir, trainer_seen):
    raw = run_config(tmp_path, tiny_model_dir)
    raw["training"]["group_by_length"] = True
    with pytest.raises(Captured):
        run_training(parse_config(raw), tmp_path / "run")
    loader = trainer_seen["trainer"].get_train_dataloader()
    assert isinstance(loader.batch_sampler, LengthGroupedBatchSampler)


def test_length_batches_and_a_curriculum_exclude_each_other(tmp_path):
    raw = run_config(tmp_path, tmp_path)
    raw["training"].update(group_by_length=True, curriculum={"phases": [{"phase": "1"}]})
    with pytest.raises(ConfigError, match="group_by_length and training.curriculum"):
        parse_config(raw)


def test_with_drop_last_every_batch_is_full_though_texts_repeat():
    data = dataset(203)
    first = list(data["sentence1"])
    first[:90] = [f"repeated text {i % 30}" for i in range(90)]  # 30 texts 3 times: equal lengths sort together
    data = Dataset.from_dict({"sentence1": first, "sentence2": data["sentence2"]})
    batches = list(LengthGroupedNoDuplicatesBatchSampler(data, batch_size=16, drop_last=False, seed=1))
    assert sorted(i for b in batches for i in b) == list(range(203))
    dropped = list(LengthGroupedNoDuplicatesBatchSampler(data, batch_size=16, drop_last=True, seed=1))
    assert len(dropped) >= 11 and all(len(b) == 16 for b in dropped)  # what several processes need
