"""frozen strategy: each training text is encoded once and the head trains on the cache (issue 15)."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import Captured, run_config, without_dropout

from embedtune.config import parse_config
from embedtune.modeling.frozen_cache import CachedEncoding, cached_head_model
from embedtune.pipeline import run_training

FROZEN = {"name": "frozen", "projection": "mlp"}


def test_the_cached_model_gives_the_full_models_embeddings_and_encodes_each_text_once(tiny_model):
    from embedtune.modeling.strategies.frozen import FrozenStrategyConfig

    FrozenStrategyConfig(projection="mlp").apply(tiny_model)
    tiny_model.eval()
    head_model = cached_head_model(tiny_model)
    features = tiny_model.tokenize(["a cold wind blows", "the sun is warm today", "a cold wind blows"])
    with torch.no_grad():
        full = tiny_model(dict(features))["sentence_embedding"]
        cached = head_model(dict(features))["sentence_embedding"]
        again = head_model(dict(features))["sentence_embedding"]
    lookup = head_model[0]
    assert isinstance(lookup, CachedEncoding) and lookup.encoded == 2  # two distinct texts, once each
    assert torch.allclose(cached, full, atol=1e-6) and torch.equal(again, cached)


def test_the_losses_train_the_run_models_head_on_the_cache(tmp_path, tiny_model_dir, trainer_seen):
    raw = run_config(tmp_path, tiny_model_dir, strategy=FROZEN)
    with pytest.raises(Captured):
        run_training(parse_config(raw), tmp_path / "run")
    head_model = trainer_seen["loss"].loss.model  # FiniteLossGuard -> the configured loss -> its model
    trained = {id(p) for p in trainer_seen["trainer"].model.parameters() if p.requires_grad}
    assert isinstance(head_model[0], CachedEncoding)
    assert {id(p) for p in head_model.parameters() if p.requires_grad} == trained  # the same head objects


def test_cached_and_uncached_runs_end_alike(tmp_path, tiny_model_dir):
    model = without_dropout(tiny_model_dir, tmp_path / "model")
    finals = {}
    for cache in (True, False):
        raw = run_config(tmp_path, model, strategy={**FROZEN, "cache_embeddings": cache}, training={"lr": 1e-2})
        run = run_training(parse_config(raw), tmp_path / f"run-{cache}")
        finals[cache] = json.loads((run.output_dir / "metrics.json").read_text())["final"]["toy"]
    assert finals[True]["toy_roc_auc"] == pytest.approx(finals[False]["toy_roc_auc"], abs=1e-4)
    assert finals[True]["toy_average_precision"] == pytest.approx(finals[False]["toy_average_precision"], abs=1e-4)


def test_over_two_epochs_the_encoder_runs_once_per_distinct_training_text(tmp_path, tiny_model_dir, caplog):
    import csv
    import logging

    raw = run_config(tmp_path, tiny_model_dir, strategy=FROZEN, training={"max_steps": None, "epochs": 2})
    raw["training"].pop("eval_steps")  # evaluation encodes through the full model, not the cache
    with open(raw["data"]["train"]["path"], encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    distinct = {row[column] for row in rows for column in ("sentence1", "sentence2")}
    with caplog.at_level(logging.INFO, logger="embedtune"):
        run_training(parse_config(raw), tmp_path / "run")
    ran = [r.getMessage() for r in caplog.records if "the encoder ran for" in r.getMessage()]
    assert ran == [f"strategy frozen: the encoder ran for {len(distinct)} distinct texts"]
