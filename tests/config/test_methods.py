"""One class per method, one registry per kind (issue 13, section 2).

A setting of another method is a one-line error naming the key and the method; the registries are the single
source of names (validation, ``embedtune losses``, the config reference); older run dirs' config.yaml still load.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar, Literal

import pytest
import yaml
from helpers import ROOT, assert_one_line_error, cli, run_config
from pydantic import Field

from embedtune.config import (
    EVAL_TASKS,
    LOSSES,
    STRATEGIES,
    LossConfig,
    dump_config,
    load_config,
    load_run_config,
    parse_config,
)
from embedtune.errors import ConfigError

sys.path.insert(0, str(ROOT / "scripts"))
from config_reference import reference  # noqa: E402

MINIMAL = {"data": {"train": {"path": "train.tsv"}}}


def write_config(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("section", "value", "fragments"),
    [
        (
            "loss",
            {"name": "mnrl", "margin": 0.3},
            ["'loss.margin' does not apply to loss mnrl", "its settings: scale"],
        ),
        ("strategy", {"name": "full", "lora_r": 64}, ["'strategy.lora_r' does not apply to strategy full"]),
        ("eval", {"task": "sts", "k": 99}, ["'data.eval.0.k' does not apply to eval task sts", "k belongs to knn"]),
    ],
    ids=["loss-margin-on-mnrl", "strategy-lora_r-on-full", "eval-k-on-sts"],
)
def test_the_three_silent_settings_exit_2_with_one_line(
    monkeypatch, capsys, tmp_path, tiny_model_dir, section, value, fragments
):
    raw = run_config(tmp_path, tiny_model_dir)
    if section == "eval":
        raw["data"]["eval"] = [{"path": raw["data"]["eval"][0]["path"], **value}]
    else:
        raw[section] = value
    code, _, err = cli(monkeypatch, capsys, "train", str(write_config(tmp_path, raw)), "-o", str(tmp_path / "run"))
    assert_one_line_error(code, err, "run.yaml", *fragments)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("section", "value", "expected"),
    [
        (
            "loss",
            {"name": "contrastive", "scale": 10},
            "'loss.scale' does not apply to loss contrastive (its settings: margin",
        ),
        (
            "loss",
            {"name": "composite", "components": [{"name": "a", "loss": {"name": "cosine"}}], "matryoshka_dims": [8]},
            "'loss.matryoshka_dims' does not apply to loss composite",
        ),
        (
            "loss",
            {"name": "composite", "components": [{"name": "a", "loss": {"name": "isotropy", "target_std": 0.1}}]},
            "'loss.components.0.loss.target_std' does not apply to loss isotropy (it has no settings of its own",
        ),
        (
            "loss",
            {"name": "score_distill", "teacher": "self", "layer_map": "uniform"},
            "'loss.layer_map' does not apply to loss score_distill",
        ),
        ("strategy", {"name": "lora", "projection": "mlp"}, "'strategy.projection' does not apply to strategy lora"),
        (
            "strategy",
            {"name": "frozen", "merge_lora": False},
            "'strategy.merge_lora' does not apply to strategy frozen",
        ),
        # hidden states, attention maps and the NLI classifier have no truncated size: they crashed at step 1
        *(
            ("loss", {"name": name, "teacher": "self", "matryoshka_dims": [16]}, f"'loss.matryoshka_dims' {where}")
            for name, where in (
                ("feature_distill", "does not apply to loss feature_distill"),
                ("attention_distill", "does not apply to loss attention_distill"),
            )
        ),
        ("loss", {"name": "softmax", "matryoshka_dims": [16]}, "'loss.matryoshka_dims' does not apply to loss soft"),
        (
            "retention",
            {"data": {"path": "x.tsv", "folds": 3}},
            "'retention.data.folds' does not apply to eval task sts",
        ),
        (
            "retention",
            {"sets": [{"data": {"path": "x.tsv", "folds": 3}}]},
            "'retention.sets.0.data.folds' does not apply to eval task sts",
        ),
    ],
)
def test_settings_of_another_method_are_refused(section, value, expected):
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        parse_config({**MINIMAL, section: value}, source="run.yaml")


@pytest.mark.parametrize(
    ("section", "value", "expected"),
    [
        ("loss", {"name": "contrastive", "margn": 0.1}, "unknown key 'loss.margn' (did you mean 'margin'?)"),
        ("loss", {"scal": 30}, "unknown key 'loss.scal' (did you mean 'scale'?)"),
        ("strategy", {"name": "lora", "lora_rank": 4}, "unknown key 'strategy.lora_rank' (did you mean 'lora_r'?)"),
        (
            "eval",
            [{"path": "a.tsv"}, {"path": "b.tsv", "task": "knn", "kk": 3}],
            "unknown key 'data.eval.1.kk' (did you mean 'k'?)",
        ),
        (
            "loss",
            {
                "name": "composite",
                "components": [{"name": "a", "loss": {"name": "cosine"}, "schedule": {"knd": "step"}}],
            },
            "unknown key 'loss.components.0.schedule.knd' (did you mean 'kind'?)",
        ),
        ("loss", {"name": "mrnl"}, "'loss.name': unknown loss 'mrnl' (did you mean 'mnrl'?); known: cosine"),
        ("strategy", {"name": "qlora"}, "'strategy.name': unknown strategy 'qlora'"),
        ("eval", [{"path": "a.tsv", "task": "nn"}], "'data.eval.0.task': unknown eval task 'nn'"),
    ],
)
def test_typos_inside_a_method_get_its_did_you_mean(section, value, expected):
    raw = {"data": {"train": {"path": "t.tsv"}, "eval": value}} if section == "eval" else {**MINIMAL, section: value}
    with pytest.raises(ConfigError) as error:
        parse_config(raw, source="run.yaml")
    assert str(error.value) == f"run.yaml: {expected}" or str(error.value).startswith(f"run.yaml: {expected}")


def test_a_dump_holds_only_each_methods_own_settings(tmp_path):
    raw = {
        "strategy": {"name": "lora"},
        "loss": {"name": "composite", "components": [{"name": "c", "loss": {"name": "contrastive"}}]},
        "data": {"train": {"path": "t.tsv"}, "eval": [{"path": "e.tsv", "task": "knn"}]},
    }
    saved = yaml.safe_load(dump_config(parse_config(raw)))
    assert set(saved["strategy"]) == {"name", *STRATEGIES["lora"].own_settings()}
    assert set(saved["loss"]) == {"name", "components", "balance_share", "balance_window"}
    assert set(saved["loss"]["components"][0]["loss"]) == {"name", "margin", "matryoshka_dims", "matryoshka_weights"}
    assert {"k", "index_fraction", "split_seed", "index"} <= set(saved["data"]["eval"][0])
    assert not {"folds", "threshold_data", "queries"} & set(saved["data"]["eval"][0])


#: The strategy, loss and eval set of a config.yaml as embedtune wrote it before each method had its own class:
#: every setting of every method, at its default.
OLD_RUN_CONFIG = """
strategy: {name: frozen, freeze_base: true, lora_r: 8, lora_alpha: 16, lora_dropout: 0.1,
  lora_target_modules: [query, key, value], merge_lora: true, projection: mlp, projection_dim: 16,
  projection_learning_rate: null}
loss: {name: composite, scale: 20.0, margin: 0.5, mini_batch_size: 32, matryoshka_dims: null,
  matryoshka_weights: null, target_std: 0.05, num_labels: 3, teacher: null, distill_texts: all, layer_map: null,
  gold_blend: 0.0, balance_share: 0.6, balance_window: 50,
  components: [{name: c, weight: 1.0, schedule: {kind: constant, to: null, start: 0.0, end: null, unit: epoch},
    loss: {name: contrastive, scale: 20.0, margin: 0.3, mini_batch_size: 32, matryoshka_dims: null,
      matryoshka_weights: null, target_std: 0.05, num_labels: 3, teacher: null, distill_texts: all, layer_map: null,
      gold_blend: 0.0, components: null, balance_share: 0.6, balance_window: 50}}]}
data:
  train: {path: /data/train.tsv}
  eval: [{path: /data/eval.tsv, task: pairs, threshold_data: null, folds: 3, k: 5, index_fraction: 0.8,
    pairs_per_category: 100, split_seed: 0, min_roc_auc: 0.7, min_f1: 0.7, matryoshka_dims: null, index: null,
    queries: null, corpus: null}]
"""


def test_an_older_run_dirs_config_loads_but_the_same_text_written_by_a_user_does_not(tmp_path):
    (tmp_path / "config.yaml").write_text(OLD_RUN_CONFIG, encoding="utf-8")
    config = load_run_config(tmp_path)
    assert config.strategy.name == "frozen" and config.strategy.projection == "mlp"
    assert config.loss.leaves()[0].margin == 0.3
    assert config.data.eval[0].folds == 3
    again = parse_config(yaml.safe_load(dump_config(config)))  # and its new dump is a strict config
    assert again == config
    with pytest.raises(ConfigError, match="'strategy.lora_[a-z_]+' does not apply to strategy frozen"):
        load_config(write_config(tmp_path, yaml.safe_load(OLD_RUN_CONFIG)))


def test_a_run_dirs_non_default_setting_of_another_method_is_still_refused(tmp_path):
    raw = yaml.safe_load(OLD_RUN_CONFIG)
    raw["loss"]["margin"] = 0.9  # the composite's own margin never existed; 0.9 is not a default anywhere
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match="'loss.margin' does not apply to loss composite"):
        load_run_config(tmp_path)


@pytest.fixture
def dummy_loss():
    """A loss registered the way a new loss module does it, and nothing else."""

    @LOSSES.register
    class DummyLossConfig(LossConfig):
        name: Literal["dummy"] = "dummy"
        strength: float = Field(2.0, gt=0, description="how hard the dummy pulls")

        accepts: ClassVar = ("scored",)
        summary: ClassVar = "a loss registered by a test"

    yield DummyLossConfig
    LOSSES.unregister("dummy")


def test_a_registered_loss_is_validated_listed_and_documented_without_other_edits(monkeypatch, capsys, dummy_loss):
    config = parse_config({**MINIMAL, "loss": {"name": "dummy", "strength": 3}})
    assert isinstance(config.loss, dummy_loss) and config.loss.strength == 3
    with pytest.raises(ConfigError, match=r"'loss.scale' does not apply to loss dummy \(its settings: strength;"):
        parse_config({**MINIMAL, "loss": {"name": "dummy", "scale": 3}})
    with pytest.raises(ConfigError, match="'loss.strength' does not apply to loss mnrl .*strength belongs to dummy"):
        parse_config({**MINIMAL, "loss": {"name": "mnrl", "strength": 3}})
    code, out, _ = cli(monkeypatch, capsys, "losses")
    assert code == 0 and any(
        line.startswith("dummy ") and "a loss registered by a test" in line for line in out.splitlines()
    )
    assert "**loss name: dummy**" in reference() and "| `strength` |" in reference()


def test_embedtune_losses_lists_exactly_the_registry_in_order(monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, "losses")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines() if line.strip()] == LOSSES.names()


def test_the_config_reference_has_one_table_per_registered_method():
    text = reference()
    for section, registry in (("strategy", STRATEGIES), ("loss", LOSSES), ("data.eval[]", EVAL_TASKS)):
        for name in registry.names():
            assert f"**{section} {registry.key}: {name}**" in text


@pytest.mark.parametrize(
    "name",
    ["Dummy", "two words", "mnrl"],
    ids=["uppercase", "not-an-identifier", "taken"],
)
def test_registration_refuses_bad_or_taken_names(name):
    bad_name = name
    with pytest.raises(ValueError, match="lowercase|registered twice"):

        @LOSSES.register
        class Bad(LossConfig):
            name: str = bad_name


@pytest.mark.parametrize("projection_dim", [None, 16, 48], ids=["same-size", "smaller", "larger"])
def test_the_frozen_mlp_head_starts_as_near_the_identity_as_its_size_allows(tiny_model, projection_dim):
    import numpy as np

    sentences = ["the sun is warm today", "a man plays football", "she plays the piano"]
    before = tiny_model.encode(sentences, convert_to_numpy=True, normalize_embeddings=False)
    strategy = STRATEGIES.validate({"name": "frozen", "projection": "mlp", "projection_dim": projection_dim})
    strategy.apply(tiny_model)
    after = tiny_model.encode(sentences, convert_to_numpy=True, normalize_embeddings=False)
    width = before.shape[1]
    size = projection_dim or width
    assert after.shape[1] == size
    expected = np.zeros((len(sentences), size), dtype=before.dtype)
    expected[:, : min(size, width)] = before[:, : min(size, width)]  # truncated, or padded with zeros
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)  # the tiny model ends in Normalize
    np.testing.assert_allclose(after, expected, atol=1e-6)
