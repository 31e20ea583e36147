"""Config loading: validation, did-you-mean, --set overrides, round trips of every recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import ROOT

from embedtune.config import SuiteConfig, dump_config, load_config, load_suite, parse_config
from embedtune.errors import ConfigError


def files_in(folder: str) -> list[Path]:
    """Every file in the folder, whatever its extension (dot files excepted): each must parse."""
    return sorted(p for p in (ROOT / folder).iterdir() if p.is_file() and not p.name.startswith("."))


RECIPES = [path for path in files_in("recipes") if not path.name.endswith(".space.yaml")]  # spaces: tests/sweep
SUITES = files_in("suites")
MINIMAL = {"data": {"train": {"path": "train.tsv"}}}


def write_yaml(tmp_path: Path, payload: dict) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(payload), encoding="utf-8")
    return path


def test_defaults_fill_every_section():
    config = parse_config(MINIMAL)
    assert config.model.name == "default"
    assert config.strategy.name == "full"
    assert config.loss.name == "mnrl"
    assert config.training.lr == 2e-5


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({**MINIMAL, "trainig": {}}, "unknown key 'trainig' (did you mean 'training'?)"),
        ({**MINIMAL, "training": {"learning_rate": 1e-5}}, "unknown key 'training.learning_rate'"),
        ({**MINIMAL, "training": {"warmup_ratoi": 0.1}}, "did you mean 'warmup_ratio'?"),
        ({**MINIMAL, "loss": {"nmae": "mnrl"}}, "did you mean 'name'?"),
        ({"data": {"train": {"path": "x", "colums": {}}}}, "did you mean 'columns'?"),
        ({"data": {"train": {"path": "x"}, "eval": [{"path": "y", "tsk": "sts"}]}}, "did you mean 'task'?"),
    ],
)
def test_unknown_keys_fail_with_a_suggestion(payload, expected):
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        parse_config(payload)


@pytest.mark.parametrize(
    ("section", "value", "expected"),
    [
        ("training", {"lr": "fast"}, "'training.lr'"),
        ("training", {"warmup_steps": 10, "warmup_ratio": 0.1}, "warmup_steps or warmup_ratio, not both"),
        ("training", {"scheduler": "cyclic"}, "'training.scheduler'"),
        ("loss", {"name": "triplet"}, "'loss.name'"),
        ("loss", {"matryoshka_weights": [1, 2]}, "matryoshka_weights needs matryoshka_dims"),
        ("strategy", {"name": "lora", "freeze_base": True}, "freeze_base: true contradicts name: lora"),
    ],
)
def test_invalid_values_name_the_key(section, value, expected):
    with pytest.raises(ConfigError, match=expected):
        parse_config({**MINIMAL, section: value})


def test_missing_train_data_is_reported():
    with pytest.raises(ConfigError, match="missing required key 'data.train'"):
        parse_config({"data": {}})


def test_freeze_base_selects_the_frozen_strategy():
    assert parse_config({**MINIMAL, "strategy": {"freeze_base": True}}).strategy.name == "frozen"


def test_overrides_are_typed_and_validated(tmp_path):
    path = write_yaml(tmp_path, MINIMAL)
    config = load_config(path, ["training.lr=3e-5", "loss.matryoshka_dims=[64, 32]", "strategy.name=lora"])
    assert config.training.lr == 3e-5
    assert config.loss.matryoshka_dims == [64, 32]
    assert config.strategy.name == "lora"
    with pytest.raises(ConfigError, match="did you mean 'batch_size'"):
        load_config(path, ["training.batchsize=8"])
    with pytest.raises(ConfigError, match="expected key.path=value"):
        load_config(path, ["training.lr"])


def test_relative_data_paths_resolve_from_the_config_file(tmp_path):
    config = load_config(write_yaml(tmp_path, MINIMAL))
    assert config.data.train.path == (tmp_path / "train.tsv").resolve()
    with_rehearsal = load_config(write_yaml(tmp_path, MINIMAL), ["data.rehearsal={data: {path: general.tsv}}"])
    assert with_rehearsal.data.rehearsal.data.path == (tmp_path / "general.tsv").resolve()


def test_broken_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  train: {path: x\n  eval: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+"):
        load_config(path)


def test_a_schema_error_names_the_line_of_its_key(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data:\n  train: {path: train.tsv}\ntraining:\n  lr: 1.0e-5\n  epocs: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^.*run\.yaml:5: unknown key 'training\.epocs'"):
        load_config(path)
    path.write_text("data:\n  train: {path: train.tsv}\ntraining:\n  lr: fast\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"run\.yaml:4: 'training\.lr'"):
        load_config(path)
    path.write_text("data:\n  eval: []\n", encoding="utf-8")  # a missing key: the line of its section
    with pytest.raises(ConfigError, match=r"run\.yaml:1: missing required key 'data\.train'"):
        load_config(path)


def test_an_error_from_set_names_no_line_of_the_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data:\n  train: {path: train.tsv}\ntraining:\n  lr: 1.0e-5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path, ["training.lr=fast"])
    assert str(error.value).startswith(f"{path}: 'training.lr'")


def test_a_suite_error_names_the_line_of_its_key(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text("evaluators:\n  - name: a\n    task: pairs\n    path: x.tsv\n    kk: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"suite\.yaml:5: unknown key 'evaluators\.0\.kk'"):
        load_suite(path)


@pytest.mark.parametrize("recipe", RECIPES, ids=[p.stem for p in RECIPES])
def test_every_recipe_validates_and_round_trips(recipe, tmp_path):
    config = load_config(recipe)
    again = parse_config(yaml.safe_load(dump_config(config)))
    assert again == config


@pytest.mark.parametrize("suite", SUITES, ids=[p.stem for p in SUITES])
def test_every_suite_validates_and_round_trips(suite):
    evaluators = load_suite(suite)
    dumped = yaml.safe_load(yaml.safe_dump({"evaluators": [e.model_dump(mode="json") for e in evaluators]}))
    assert SuiteConfig.model_validate(dumped).evaluators == evaluators


def test_there_are_recipes_and_suites():
    assert len(RECIPES) >= 2 and len(SUITES) >= 2


def test_a_recipe_that_turns_the_forgetting_guard_off_says_why():
    """The guard is on unless a recipe says, on the same line, why it is off (issue 14)."""
    import re

    from helpers import ROOT

    for recipe in [r for r in sorted((ROOT / "recipes").glob("*.yaml")) if not r.name.endswith(".space.yaml")]:
        text = recipe.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
        if (raw.get("retention") or {}).get("enabled", True):
            continue
        line = next(line for line in text.splitlines() if re.match(r"\s+enabled:\s*false", line))
        assert re.search(r"#\s*\S.{10,}", line), f"{recipe.name}: retention.enabled: false needs a comment saying why"


@pytest.mark.parametrize(
    ("retention", "expected"),
    [
        ({"data": {"path": "a.tsv"}, "sets": [{"data": {"path": "b.tsv"}}]}, "retention.sets or retention.data"),
        ({"metric": "spearman"}, "retention.metric goes with retention.data"),
        ({"sets": [{"data": {"path": "a.tsv"}, "tolerance": -1}]}, "retention.sets.0.tolerance"),
    ],
    ids=["both-forms", "metric-without-data", "negative-tolerance"],
)
def test_guard_settings_that_cannot_be_meant_are_refused(retention, expected):
    with pytest.raises(ConfigError, match=expected):
        parse_config({**MINIMAL, "retention": retention}, source="run.yaml")


def test_every_shipped_recipe_runs_with_the_guard_on():
    from helpers import ROOT

    for recipe in [r for r in sorted((ROOT / "recipes").glob("*.yaml")) if not r.name.endswith(".space.yaml")]:
        raw = yaml.safe_load(recipe.read_text(encoding="utf-8"))
        assert (raw.get("retention") or {}).get("enabled", True), f"{recipe.name} turns the forgetting guard off"


def test_a_set_value_with_a_hash_is_kept_whole(tmp_path):
    from embedtune.config.loading import _apply_override

    raw: dict = {}
    _apply_override(raw, "data.train.delimiter=#")
    _apply_override(raw, "data.train.name=run #2")
    assert raw["data"]["train"] == {"delimiter": "#", "name": "run #2"}
