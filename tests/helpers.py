"""Builders and checks shared by the tests in every folder: toy pair files and run configs around the tiny model,
the CLI as a function, phased (curriculum) configs, NLI files, synthetic documents for mining.

Test files import these (``from helpers import ...``) and never import each other: tests/ is on ``sys.path`` because
conftest.py lives there, a test module in a subfolder is not."""

from __future__ import annotations

import random
import sys
from pathlib import Path

#: The repository root (recipes/, suites/, docs/, scripts/, pyproject.toml).
ROOT = Path(__file__).resolve().parent.parent

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


# --- the CLI ------------------------------------------------------------------------------------------------------


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run ``embedtune ARGS`` in-process; return (exit code, stdout, stderr)."""
    import pytest

    from embedtune.cli import main

    monkeypatch.setattr(sys, "argv", ["embedtune", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    """Exit code 2, one non-blank line on stderr containing every fragment, no traceback."""
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# --- a two-phase curriculum run -----------------------------------------------------------------------------------


def phased_config(tmp_path: Path, model_dir: Path) -> Path:
    """run.yaml of a restart curriculum over two phases of 10 epochs (long enough to kill or interrupt mid-run)."""
    import yaml

    raw = run_config(tmp_path, model_dir, loss={"name": "cosine"})
    rows = (tmp_path / "train.tsv").read_text().splitlines()
    phased = tmp_path / "phased.tsv"
    phased.write_text(
        rows[0] + "\tphase\n" + "\n".join(f"{row}\t{1 + i % 2}" for i, row in enumerate(rows[1:])) + "\n"
    )
    raw["data"]["train"] = {
        "path": str(phased),
        "columns": {"label": "label", "phase": "phase"},
        "score_range": [0, 5],
    }
    raw["training"].pop("max_steps")
    raw["training"].update(
        eval_steps=10,
        save_total_limit=2,
        logging_steps=5,
        curriculum={"schedule": "restart", "phases": [{"phase": 1, "epochs": 10}, {"phase": 2, "epochs": 10}]},
    )
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


# --- NLI ----------------------------------------------------------------------------------------------------------

NLI_CLASSES = ["contradiction", "entailment", "neutral"]
NLI_ROWS = [
    ("a dog runs in the park", "an animal runs", "entailment"),
    ("a dog runs in the park", "a cat sleeps at home", "contradiction"),
    ("a dog runs in the park", "the dog is happy", "neutral"),
    ("a man plays the song", "a man makes music", "entailment"),
    ("a man plays the song", "a man is silent", "contradiction"),
    ("a man plays the song", "nobody is silent", "contradiction"),
    ("two children eat food", "kids eat", "entailment"),  # no contradiction: skipped in triplets
]


def write_nli(path, rows=NLI_ROWS, repeat: int = 1):
    """TSV with an ``entailment`` class column; ``repeat`` > 1 repeats the rows with numbered first sentences."""
    lines = ["sentence1\tsentence2\tscore\tentailment"]
    lines += [
        f"{a} {k}\t{b}\t3.0\t{c}" if repeat > 1 else f"{a}\t{b}\t3.0\t{c}" for k in range(repeat) for a, b, c in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- synthetic documents for category mining ------------------------------------------------------------------------

#: Bands that the synthetic documents below fill: category words make same-category pairs similar, documents
#: heavy in shared words make cross-category pairs similar.
SYNTHETIC_PHASES = {
    "1": {"positive": (0.3, 1.0), "negative": (0.0, 0.05)},
    "2": {"positive": (0.15, 0.3), "negative": (0.05, 0.15)},
    "3": {"positive": (0.0, 0.15), "negative": (0.15, 1.0)},
}


def synthetic_documents(per_category: int = 30, seed: int = 0) -> tuple[list[str], list[str]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    shared = [f"common{k}" for k in range(8)]
    texts, labels = [], []
    for c, category in enumerate(["alpha", "beta", "gamma"]):
        own = [f"{category}{k}" for k in range(12)]
        for d in range(per_category):
            heavy = d % 3 == 0  # mostly shared words: the hard negatives
            words = [*rng.choice(own, 3 if heavy else 6, replace=False), *rng.choice(shared, 5 if heavy else 1, False)]
            texts.append(" ".join(str(w) for w in words) + f" doc{c}x{d}")
            labels.append(category)
    texts[0] = 'a "quoted"\ttabbed ' + texts[0]  # TSV output must quote this
    return texts, labels


def mining_config(**overrides):
    """A ``MiningConfig`` over ``SYNTHETIC_PHASES``: 10 pairs per category, 5 eval pairs per category."""
    from embedtune.data.mining import MiningConfig

    values = {"pairs_per_category": 10, "eval_pairs_per_category": 5, "phases": SYNTHETIC_PHASES, **overrides}
    return MiningConfig(**values)


def without_dropout(model_dir: Path, target: Path) -> Path:
    """A copy of a tiny model with dropout off: runs that must match exactly (no per-process dropout noise)."""
    import json
    import shutil

    shutil.copytree(model_dir, target)
    for config in target.rglob("config.json"):
        raw = json.loads(config.read_text())
        if "hidden_dropout_prob" in raw:
            raw.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
            config.write_text(json.dumps(raw))
    return target
