"""The space file: distributions, conditions, and every bound and choice checked against the config up front."""

from __future__ import annotations

import optuna
import pytest
import yaml
from helpers import ROOT, run_config

from embedtune.config.loading import read_yaml
from embedtune.errors import ConfigError
from embedtune.sweep.space import defaults_of, load_space, sample


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False) if not isinstance(data, str) else data, encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir)
    return raw, write(tmp_path, "run.yaml", raw)


SPACE = """\
trial:
  training.max_steps: 4
params:
  training.lr: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}
  strategy.name: {type: categorical, choices: [full, lora]}
  strategy.lora_r: {type: int, low: 2, high: 8, when: {strategy.name: lora}}
  loss.matryoshka_dims: {type: categorical, choices: [null, [32, 16]]}
"""


def test_a_space_samples_conditioned_params_only_where_their_condition_holds(tmp_path, config):
    raw, path = config
    space = load_space(write(tmp_path, "space.yaml", SPACE), raw, path)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = []
    for _ in range(12):
        trial = study.ask()
        values = sample(space, trial, raw)
        seen.append(values)
        assert ("strategy.lora_r" in values) == (values["strategy.name"] == "lora")
        assert values["loss.matryoshka_dims"] in (None, [32, 16])  # a list choice comes back as the list
        study.tell(trial, 0.0)
    assert {v["strategy.name"] for v in seen} == {"full", "lora"}


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("params:\n  training.lrr: {type: float, low: 0.1, high: 0.2}\n", ["space.yaml:2", "'training.lrr'", "'lr'"]),
        # a key the config's strategy does not have: the config refuses it, and the error says which key and value
        (
            "params:\n  training.lr: {type: float, low: 0.001, high: 0.01}\n"
            "  strategy.r: {type: int, low: 2, high: 8}\n",
            ["space.yaml:3", "strategy.r"],
        ),
        ("params:\n  training.lr: {type: float, low: 0.1, high: 0.01}\n", ["space.yaml:2", "above high"]),
        ("params:\n  training.lr: {type: float, low: 0, high: 0.01, log: true}\n", ["space.yaml:2", "low > 0"]),
        ("params:\n  training.batch_size: {type: int, low: 0, high: 8}\n", ["space.yaml:2", "batch_size = 0"]),
        ("params:\n  training.lr: {type: normal, low: 0, high: 1}\n", ["space.yaml:2", "params.training.lr"]),
        ("metric: toy_roc_auc\nparms: {}\n", ["space.yaml:2", "parms", "unknown key"]),
        (
            "params:\n  strategy.lora_r: {type: int, low: 2, high: 8, when: {strategy.kind: lora}}\n",
            ["space.yaml:2", "strategy.kind"],
        ),
        (
            "trial:\n  training.max_step: 4\nparams:\n  training.lr: {type: float, low: 0.1, high: 0.2}\n",
            ["space.yaml:1"],
        ),
        # Optuna would refuse these only inside the first trial
        ("params:\n  training.lr: {type: float, low: 0.1, high: 0.2, step: -0.01}\n", ["space.yaml:2", "above 0"]),
        ("params:\n  training.batch_size: {type: int, low: 2, high: 8, step: 0}\n", ["space.yaml:2", "above 0"]),
        ("params:\n  training.lr: {type: float, low: 0.1, high: .inf}\n", ["space.yaml:2", "finite"]),
        (  # sampled in file order: the condition would be judged on the config's value, never on the sampled one
            "params:\n  strategy.lora_r: {type: int, low: 2, high: 8, when: {strategy.name: lora}}\n"
            "  strategy.name: {type: categorical, choices: [full, lora]}\n",
            ["space.yaml:2", "params.strategy.lora_r.when", "'strategy.name' is sampled later"],
        ),
    ],
)
def test_a_bad_space_is_one_line_naming_the_file_line_and_key(tmp_path, config, text, fragments):
    raw, path = config
    with pytest.raises(ConfigError) as caught:
        load_space(write(tmp_path, "space.yaml", text), raw, path)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_the_first_trial_is_the_configs_own_values_where_the_space_holds_them(tmp_path, config):
    raw, path = config
    text = (
        "params:\n  training.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}\n"
        "  training.batch_size: {type: categorical, choices: [4, 16]}\n"  # the config's 8 is not a choice: sampled
        "  loss.matryoshka_dims: {type: categorical, choices: [[32, 16], null]}\n"
    )
    space = load_space(write(tmp_path, "space.yaml", text), raw, path)
    assert defaults_of(space, raw) == {"training.lr": raw["training"]["lr"], "loss.matryoshka_dims": None}


def test_the_first_trial_reads_conditions_as_every_trial_does(tmp_path, config):
    """A condition on a key the space's ``trial:`` sets is judged on that value, for trial 0 as in sampling."""
    raw, path = config
    text = (
        "trial:\n  strategy.name: lora\n"
        "params:\n  strategy.lora_r: {type: int, low: 2, high: 16, when: {strategy.name: lora}}\n"
    )
    raw["strategy"] = {"name": "full"}
    space = load_space(write(tmp_path, "space.yaml", text), raw, path)
    trial = optuna.create_study().ask()
    assert "strategy.lora_r" in sample(space, trial, raw)
    lora = {**raw, "strategy": {"name": "full", "lora_r": 8}}
    assert defaults_of(space, lora) == {"strategy.lora_r": 8}  # trial: makes it lora, whatever the config says


@pytest.mark.parametrize("space", sorted((ROOT / "recipes").glob("*.space.yaml")), ids=lambda p: p.name)
def test_every_space_in_recipes_is_valid_for_its_recipe(space):
    """recipes/NAME.space.yaml searches recipes/NAME.yaml; every bound and choice must be a config it accepts."""
    config = space.with_name(space.name.replace(".space.yaml", ".yaml"))
    loaded = load_space(space, read_yaml(config), config)
    generated = loaded.test is not None and loaded.test.startswith("../data/")  # written by `embedtune mine`
    assert loaded.test is None or generated or (space.parent / loaded.test).exists()
