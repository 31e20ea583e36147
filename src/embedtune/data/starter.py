"""The run config ``embedtune mine`` writes beside the mined files, so mining ends with a command that trains.

Its settings follow ``recipes/tickets-group-mnrl.yaml`` (the measured best on the IT tickets) without the
rehearsal set, which needs a file only a bench script writes: group_mnrl on the mined positives (in-batch
negatives never share the anchor's category), the mined phases as an easy-to-hard curriculum of one epoch each,
and two held-out eval sets built from the same mining output: pair classification on the eval pairs, and kNN
category accuracy of the held-out documents against the training documents. At the default 60 pairs per
category and phase that is a few dozen steps of batch 32: minutes on a CPU for a few hundred documents.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from embedtune.errors import UserError

#: Neighbours voting in the kNN eval set, as in the ticket recipes (fewer when the index is smaller).
KNN_K = 5
#: Cross-validation folds of the pair eval set's F1 threshold (fewer when there are fewer positives).
PAIR_FOLDS = 5
#: Tokens per text: most tickets fit in 64, and a step of batch 32 then stays near 2 s on 2 CPU cores.
MAX_SEQ_LENGTH = 64


def eval_set_prefix(documents: Path) -> str:
    """Metric-name prefix from the documents file: ``IT tickets.tsv`` -> ``it_tickets``."""
    return re.sub(r"[^0-9a-z]+", "_", documents.stem.lower()).strip("_") or "documents"


def starter_config(paths: dict[str, Path], summary: dict, prefix: str, model: str = "default") -> dict:
    """The run config as a mapping; ``paths`` are the mined files by role (as :func:`write_mined` returns them)."""
    train_positives = {phase: s["positive"]["pairs"] for phase, s in summary["train"]["phases"].items()}
    if not any(train_positives.values()):
        raise UserError(
            "mining: no same-category train pairs (every category has < 2 train documents); nothing to train"
        )
    training: dict = {"lr": 1.0e-4, "batch_size": 32, "warmup_ratio": 0.1, "seed": 42}
    # group_mnrl trains on the label-1 rows only: a phase without positives would be an empty stage.
    phases = [{"phase": phase, "epochs": 1} for phase, count in train_positives.items() if count]
    training["curriculum"] = {"schedule": "continuous", "phases": phases}
    return {
        "model": {"name": model, "max_seq_length": MAX_SEQ_LENGTH},
        "strategy": {"name": "full"},
        "loss": {"name": "group_mnrl", "scale": 20},
        "data": {
            "train": {
                "path": paths["train"].name,
                "columns": {"label": "label", "phase": "phase", "group": "category"},
            },
            "eval": _eval_sets(paths, summary, prefix),
        },
        "training": training,
    }


def _eval_sets(paths: dict[str, Path], summary: dict, prefix: str, split: str = "eval") -> list[dict]:
    """The pairs set when it can choose a threshold (2 pairs of each label), and the kNN set (``split``: eval, or
    test for the untouched test suite)."""
    sets = []
    held = summary[split]
    folds = min(PAIR_FOLDS, held["positives"], held["negatives"])
    if folds >= 2:
        sets.append(
            {
                "name": f"{prefix}_pairs",
                "task": "pairs",
                "path": paths[split].name,
                "columns": {"label": "label"},
                "folds": folds,
            }
        )
    sets.append(
        {
            "name": f"{prefix}_knn",
            "task": "knn",
            "path": paths[f"{split}_documents"].name,
            "index": paths["train_documents"].name,
            "columns": {"text1": "text", "label": "category"},
            "k": min(KNN_K, summary["documents"]["train"]),
        }
    )
    return sets


def write_starter_config(
    out_dir: Path, paths: dict[str, Path], summary: dict, prefix: str, model: str = "default"
) -> dict[str, Path]:
    """Write ``out_dir/config.yaml`` and ``out_dir/suite.yaml`` (the config's eval sets, for ``embedtune compare
    A B --suite`` with any two models); paths in both are relative to them, so the folder can move."""
    from embedtune.rundir import write_text_atomic

    config = starter_config(paths, summary, prefix, model)
    suite = Path(out_dir) / "suite.yaml"
    suite_header = (
        "# Written by `embedtune mine`: the held-out eval sets of config.yaml, to measure any model on them:\n"
        "#   embedtune compare default runs/<run> --suite suite.yaml\n"
    )
    evaluators = {"evaluators": config["data"]["eval"]}
    write_text_atomic(suite, suite_header + yaml.safe_dump(evaluators, sort_keys=False, allow_unicode=True))
    written = {}
    if "test" in paths:
        test_suite = Path(out_dir) / "test-suite.yaml"
        test_header = (
            "# Written by `embedtune mine --test-fraction`: the untouched test split (documents neither trained nor\n"
            "# chosen on). Choose on suite.yaml / config.yaml's eval sets; measure here once, at the end:\n"
            "#   embedtune compare default runs/<run> --suite test-suite.yaml\n"
        )
        tests = {"evaluators": _eval_sets(paths, summary, prefix, "test")}
        write_text_atomic(test_suite, test_header + yaml.safe_dump(tests, sort_keys=False, allow_unicode=True))
        written["test_suite"] = test_suite
    path = Path(out_dir) / "config.yaml"
    header = (
        "# Written by `embedtune mine`: a run config that trains as is (paths are relative to this file).\n"
        "# group_mnrl on the mined positives (no same-category text is an in-batch negative), the mined phases as\n"
        "# an easy-to-hard curriculum, and the untuned and tuned model measured on the held-out documents: pair\n"
        "# classification of the eval pairs, kNN category accuracy of the eval documents against the train ones.\n"
        "# Change anything here, or one key per run: embedtune train config.yaml --set training.lr=5e-5\n"
    )
    write_text_atomic(path, header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return {"config": path, "suite": suite, **written}
