"""Rehearsal pairs mixed into training: counts per phase, phases taken over, determinism, column checks."""

from __future__ import annotations

import json

import pytest
from helpers import run_config, write_pairs

from embedtune.data.pairs import PairData
from embedtune.data.rehearsal import mix_rehearsal
from embedtune.errors import ConfigError


def _pairs(source: str, n: int, phases: list[str] | None = None, labels: bool = True) -> PairData:
    return PairData(
        source=source,
        texts1=[f"{source} a{i}" for i in range(n)],
        texts2=[f"{source} b{i}" for i in range(n)],
        labels=[float(i % 2) for i in range(n)] if labels else None,
        phases=phases,
        lines=list(range(2, n + 2)),
    )


def test_each_phase_gets_its_share_and_the_phase_name():
    train = _pairs("train", 10, phases=["easy"] * 4 + ["hard"] * 6)
    mixed = mix_rehearsal(train, _pairs("general", 100), ratio=0.5, seed=0)
    added = list(zip(mixed.texts1[10:], mixed.phases[10:]))
    assert mixed.texts1[:10] == train.texts1 and mixed.phases[:10] == train.phases
    assert [phase for _, phase in added] == ["easy"] * 2 + ["hard"] * 3
    assert all(text.startswith("general") for text, _ in added)
    assert len({text for text, _ in added}) == 5  # no repeats while the rehearsal set lasts
    assert len(mixed.labels) == len(mixed.texts2) == 15


def test_same_seed_same_pairs_other_seed_other_pairs():
    train, general = _pairs("train", 20), _pairs("general", 200)
    first = mix_rehearsal(train, general, ratio=1.0, seed=3)
    assert first.texts1 == mix_rehearsal(train, general, ratio=1.0, seed=3).texts1
    assert first.texts1 != mix_rehearsal(train, general, ratio=1.0, seed=4).texts1
    assert first.phases is None and len(first) == 40


def test_small_rehearsal_set_is_cycled():
    mixed = mix_rehearsal(_pairs("train", 10), _pairs("general", 3), ratio=1.0, seed=0)
    assert len(mixed) == 20
    assert sorted(set(mixed.texts1[10:])) == [f"general a{i}" for i in range(3)]


def test_columns_must_match():
    with pytest.raises(ConfigError, match="general has a label column but train does not"):
        mix_rehearsal(_pairs("train", 4, labels=False), _pairs("general", 4), ratio=1.0, seed=0)
    with pytest.raises(ConfigError, match="holds no pairs"):
        mix_rehearsal(_pairs("train", 4), _pairs("general", 0), ratio=1.0, seed=0)


def test_config_mixes_rehearsal_into_every_curriculum_phase(tmp_path, tiny_model_dir):
    from embedtune.config import parse_config
    from embedtune.pipeline import run_training
    from embedtune.run_inputs import load_run_inputs

    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "cosine"})
    train_path = tmp_path / "phased.tsv"
    rows = (tmp_path / "train.tsv").read_text().splitlines()
    train_path.write_text(
        rows[0] + "\tphase\n" + "\n".join(f"{row}\t{'easy' if i < 16 else 'hard'}" for i, row in enumerate(rows[1:]))
    )
    general = write_pairs(tmp_path / "general.tsv", n=30, seed=7)
    raw["data"]["train"] = {
        "path": str(train_path),
        "columns": {"label": "label", "phase": "phase"},
        "score_range": [0, 5],
    }
    raw["data"]["rehearsal"] = {
        "data": {"path": str(general), "columns": {"label": "label"}, "score_range": [0, 5]},
        "ratio": 0.5,
    }
    raw["training"].pop("max_steps")
    raw["training"]["curriculum"] = {"phases": [{"phase": "easy"}, {"phase": "hard"}]}
    train = load_run_inputs(parse_config(raw)).train
    assert len(train) == 48 + 24
    assert train.phases.count("easy") == 16 + 8 and train.phases.count("hard") == 32 + 16
    assert all(0.0 <= label <= 1.0 for label in train.labels)
    result = run_training(parse_config(raw), tmp_path / "run")
    steps = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert max(record["step"] for record in steps) == 3 + 6  # ceil(24 / 8) + ceil(48 / 8): rehearsal pairs trained
    assert result.metrics["final"]
