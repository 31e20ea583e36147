"""Small builders shared by the training tests: toy pair files and run configs around the tiny model."""

from __future__ import annotations

import random
from pathlib import Path

TOPICS = {
    "weather": [
        "the sun is warm today",
        "it is raining in the city",
        "a cold wind blows",
        "snow falls at night",
        "the sky is blue and clear",
        "rain and wind in the morning",
    ],
    "food": [
        "she eats bread and cheese",
        "he cooks rice for dinner",
        "the soup is hot",
        "we like apple pie",
        "a man is eating pasta",
        "the cake is sweet",
    ],
    "sport": [
        "the team won the game",
        "a man plays football",
        "she runs every morning",
        "they play tennis",
        "the player kicks the ball",
        "a woman is swimming",
    ],
    "music": [
        "he plays the guitar",
        "a girl sings a song",
        "the band plays loud music",
        "she plays the piano",
        "a man is playing a flute",
        "they dance to the music",
    ],
}


def write_pairs(path: Path, n: int = 48, seed: int = 0, scored: bool = True) -> Path:
    """TSV of topic pairs: same topic -> label 1 (or score 4-5), different topic -> 0 (score 0-1)."""
    rng = random.Random(seed)
    topics = list(TOPICS)
    rows = []
    for i in range(n):
        first = topics[i % len(topics)]
        same = i % 2 == 0
        second = first if same else rng.choice([t for t in topics if t != first])
        a, b = rng.choice(TOPICS[first]), rng.choice(TOPICS[second])
        label = (rng.choice([4, 5]) if same else rng.choice([0, 1])) if scored else int(same)
        rows.append(f"{a} {i}\t{b}\t{label}")
    path.write_text("sentence1\tsentence2\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_config(
    tmp_path: Path,
    model_dir: Path,
    strategy: dict | None = None,
    loss: dict | None = None,
    scored: bool = True,
    training: dict | None = None,
) -> dict:
    train = write_pairs(tmp_path / "train.tsv", n=48, seed=1, scored=scored)
    evaluation = write_pairs(tmp_path / "eval.tsv", n=24, seed=2, scored=False)
    score_range = [0, 5] if scored else [0, 1]
    return {
        "model": {"name": str(model_dir), "max_seq_length": 32},
        "strategy": strategy or {"name": "full"},
        "loss": loss or {"name": "cosent"},
        "data": {
            "train": {"path": str(train), "columns": {"label": "label"}, "score_range": score_range},
            "eval": [
                {"name": "toy", "path": str(evaluation), "task": "pairs", "columns": {"label": "label"}, "folds": 3}
            ],
        },
        "training": {
            "lr": 1e-3,
            "max_steps": 6,
            "batch_size": 8,
            "logging_steps": 2,
            "eval_steps": 3,
            "seed": 7,
            **(training or {}),
        },
        # The forgetting guard has its own tests; elsewhere it would add STS-B dev from ../shared to every run.
        "retention": {"enabled": False},
    }


def simulate_crash(run: Path, keep_checkpoints: int = 1) -> None:
    """Leave ``run`` as a crash after its first ``keep_checkpoints`` checkpoints would: no later ones, no outputs."""
    import shutil

    checkpoints = sorted((run / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert len(checkpoints) > keep_checkpoints, "the run saved too few checkpoints to simulate a crash"
    for later in checkpoints[keep_checkpoints:]:
        shutil.rmtree(later)
    (run / "state.json").write_text('{"state": "running"}')  # a killed run never marks itself done
    for name in ("model", "metrics.json", "statistics.json", "report.md", "report.html"):
        path = run / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def assert_same_final_metrics(expected: dict, actual: dict, tolerance: float = 1e-6) -> None:
    import pytest

    for name, values in expected["final"].items():
        for key, value in values.items():
            assert actual["final"][name][key] == pytest.approx(value, abs=tolerance), key


# Toy sentence pairs with a graded score and a 0/1 label, for evaluator tests.
SENTENCES = [
    ("a man is playing a song", "the man plays music", 0.9, 1),
    ("the dog runs in the park", "a dog is running", 0.8, 1),
    ("children read a story at school", "the kids are reading", 0.7, 1),
    ("the woman is cooking food", "she makes dinner at home", 0.6, 1),
    ("a car drives down the road", "the river is cold", 0.1, 0),
    ("the cat sleeps on the bed", "men work in the city", 0.0, 0),
    ("people walk by the sea", "write a number on the paper", 0.2, 0),
    ("the tree is very old", "a girl sings a happy song", 0.1, 0),
]


class Captured(Exception):
    """Raised by the ``trainer_seen`` fixture's stand-in for ``trainer.train`` once the optimizer is built."""


def groups_by_name(seen: dict) -> dict[str, tuple[float, float]]:
    """Parameter name -> (lr, weight decay) of the optimizer group holding it; trainable parameters only."""
    names = {id(p): n for n, p in seen["trainer"].model.named_parameters()}
    losses = seen["loss"].items() if isinstance(seen["loss"], dict) else [("loss", seen["loss"])]
    for key, loss in losses:  # loss-owned parameters: projections, learned task weights
        for name, parameter in loss.named_parameters():
            names.setdefault(id(parameter), f"{key}.{name}")
    found = {}
    for group in seen["optimizer"].param_groups:
        for parameter in group["params"]:
            if parameter.requires_grad:
                assert names[id(parameter)] not in found, "a parameter in two groups"
                found[names[id(parameter)]] = (group["lr"], group["weight_decay"])
    return found
