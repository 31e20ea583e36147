"""What reaches the optimizer and the trainer: param groups with their lr and weight decay, and the loss class the
trainer calls. Each switch is checked where it takes effect, not where it is parsed."""

from __future__ import annotations

import pytest
from helpers import Captured, groups_by_name, run_config

from embedtune.config import parse_config
from embedtune.pipeline import run_training


def start(tmp_path, model_dir, seen: dict, **sections) -> dict:
    raw = run_config(tmp_path, model_dir)
    for section, values in sections.items():
        raw[section] = {**raw.get(section, {}), **values}
    with pytest.raises(Captured):
        run_training(parse_config(raw), tmp_path / "run")
    return seen


def test_layer_wise_lr_decay_reaches_the_optimizer(tmp_path, tiny_model_dir, trainer_seen):
    start(tmp_path, tiny_model_dir, trainer_seen, training={"lr": 1e-3, "layer_lr_decay": 0.5, "weight_decay": 0.01})
    groups = groups_by_name(trainer_seen)
    query = "encoder.layer.{}.attention.self.query.weight"
    assert groups[next(n for n in groups if n.endswith(query.format(1)))] == (pytest.approx(1e-3), 0.01)
    assert groups[next(n for n in groups if n.endswith(query.format(0)))] == (pytest.approx(5e-4), 0.01)
    word_embeddings = next(n for n in groups if n.endswith("embeddings.word_embeddings.weight"))
    assert groups[word_embeddings][0] == pytest.approx(2.5e-4)
    layer_norm = next(n for n in groups if n.endswith("encoder.layer.0.output.LayerNorm.weight"))
    assert groups[layer_norm] == (pytest.approx(5e-4), 0.0)  # no weight decay on LayerNorm, at its layer's lr


def test_the_projection_head_trains_at_its_own_lr_on_a_frozen_encoder(tmp_path, tiny_model_dir, trainer_seen):
    strategy = {"name": "frozen", "projection_dim": 16, "projection_learning_rate": 5e-3}
    start(tmp_path, tiny_model_dir, trainer_seen, strategy=strategy, training={"lr": 1e-4})
    groups = groups_by_name(trainer_seen)
    assert groups and all("auto_model" not in name for name in groups)  # the encoder is frozen
    assert [lr for lr, _ in groups.values()] == pytest.approx([5e-3] * len(groups))


def test_the_projection_lr_pattern_names_the_head_only(tiny_model_dir):
    """A loss's own modules (feature_distill's layer_projections.2) keep training.lr."""
    import re

    from embedtune.modeling.load import load_model
    from embedtune.modeling.strategies.frozen import FrozenStrategyConfig

    model = load_model(str(tiny_model_dir))
    [(pattern, lr)] = FrozenStrategyConfig(projection_learning_rate=5e-3).apply(model).items()
    head = next(i for i, module in enumerate(model) if type(module).__name__ == "Dense")
    assert re.search(pattern, f"model.{head}.linear.weight") and re.search(pattern, f"x.loss.model.{head}.linear.bias")
    assert not re.search(pattern, f"layer_projections.{head}.weight")
    assert not re.search(pattern, f"model.0.auto_model.encoder.layer.{head}.output.dense.weight")


def test_the_trainer_calls_the_matryoshka_wrapper(tmp_path, tiny_model_dir, trainer_seen):
    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss

    start(tmp_path, tiny_model_dir, trainer_seen, loss={"name": "cosent", "matryoshka_dims": [32, 16]})
    wrappers = [module for module in trainer_seen["loss"].modules() if isinstance(module, MatryoshkaLoss)]
    assert len(wrappers) == 1 and list(wrappers[0].matryoshka_dims) == [32, 16]
