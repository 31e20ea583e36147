"""Layer control: layer-wise lr decay, head lr, progressive unfreezing from the top."""

from __future__ import annotations

import re

import pytest
import torch
from helpers import run_config

from embedtune.config import parse_config
from embedtune.errors import ConfigError
from embedtune.modeling.layers import (
    ProgressiveUnfreezing,
    encoder_layer,
    layerwise_lr_mapping,
    trainable_layers,
)
from embedtune.pipeline import run_training

NAMES = [
    "model.0.auto_model.embeddings.word_embeddings.weight",
    "model.0.auto_model.encoder.layer.0.attention.self.query.weight",
    "model.0.auto_model.encoder.layer.1.output.dense.weight",
    "model.0.auto_model.encoder.layer.11.output.dense.weight",
    "model.0.auto_model.pooler.dense.weight",
    "model.0.auto_model.encoder.relative_attention_bias.weight",  # MPNet: one for every layer
    "model.2.linear.weight",
    "components.feature.project.weight",
]


def lr_of(name: str, mapping: dict[str, float]) -> list[float]:
    return [lr for pattern, lr in mapping.items() if re.search(pattern, name)]


def test_encoder_layer_indices():
    assert [encoder_layer(n) for n in NAMES] == [-1, 0, 1, 11, -1, -1, None, None]


def test_layerwise_decay_and_head_lr_give_each_parameter_exactly_one_lr():
    names = [n.replace("layer.11", "layer.2") for n in NAMES]  # three layers: 0, 1, 2
    mapping = layerwise_lr_mapping(names, lr=1e-4, decay=0.5, head_lr=1e-3)
    assert lr_of(names[3], mapping) == [1e-4]  # top layer
    assert lr_of(names[2], mapping) == [5e-5]
    assert lr_of(names[1], mapping) == [2.5e-5]
    assert lr_of(names[0], mapping) == [1.25e-5]  # embeddings, below the bottom layer
    assert lr_of(names[6], mapping) == [1e-3] and lr_of(names[7], mapping) == [1e-3]
    # in the transformer, in no layer: with the embeddings (the BERT pooler is unused, MPNet's bias is shared)
    assert lr_of(names[4], mapping) == lr_of(names[5], mapping) == [1.25e-5]


def test_unfreezing_stages_by_epoch():
    stages = [(0.0, 1), (1.0, 2), (2.5, None)]
    assert [trainable_layers(stages, e) for e in (0.0, 0.9, 1.0, 2.4, 2.5, 9.0)] == [1, 1, 2, 2, None, None]
    assert trainable_layers([(1.0, 2)], 0.5) == 0  # before the first stage only the head trains


def test_callback_freezes_below_the_top_layers(tiny_model):
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    loss = CosineSimilarityLoss(tiny_model)
    callback = ProgressiveUnfreezing(loss, [(0.0, 1), (1.0, None)])
    state = type("State", (), {"epoch": 0.0})()
    callback.on_train_begin(None, state, None)
    trainable = {n for n, p in loss.named_parameters() if p.requires_grad}
    assert any(".layer.1." in n for n in trainable) and not any(".layer.0." in n for n in trainable)
    assert not any(".embeddings." in n for n in trainable)
    state.epoch = 1.0
    callback.on_step_begin(None, state, None)
    assert all(p.requires_grad for _, p in loss.named_parameters())


def test_unfreezing_run_leaves_lower_layers_untouched_until_their_epoch(tmp_path, tiny_model_dir):
    from sentence_transformers import SentenceTransformer

    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "cosine"})
    raw["training"].update(max_steps=6, unfreeze=[{"epoch": 0, "layers": 1}, {"epoch": 5, "layers": "all"}])
    run_training(parse_config(raw), tmp_path / "run")
    before = SentenceTransformer(str(tiny_model_dir), device="cpu").state_dict()
    after = SentenceTransformer(str(tmp_path / "run" / "model"), device="cpu").state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(".layer.1." in k for k in changed)
    assert not any(".layer.0." in k or ".embeddings." in k for k in changed)


def test_layer_decay_run_trains_and_unfreeze_needs_full(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "cosine"})
    raw["training"].update(layer_lr_decay=0.8, head_lr=1e-3)
    assert run_training(parse_config(raw), tmp_path / "run").metrics["final"]
    raw["strategy"] = {"name": "lora"}
    raw["training"]["unfreeze"] = [{"epoch": 0, "layers": 1}]
    with pytest.raises(ConfigError, match="unfreeze needs strategy full"):
        parse_config(raw)


def test_a_first_stage_after_epoch_0_on_a_model_without_a_head_is_one_clear_error(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "cosine"})
    raw["training"].update(max_steps=4, unfreeze=[{"epoch": 0.5, "layers": 1}])
    with pytest.raises(ConfigError, match=r"before its first stage \(epoch 0.5\).*start a stage at epoch 0"):
        run_training(parse_config(raw), tmp_path / "run")
