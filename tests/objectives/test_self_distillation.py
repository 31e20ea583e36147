"""Self-distillation of rehearsal texts (teacher self, distill_texts rehearsal): only cached texts are distilled, the
teacher is the model before training, and in a run the general texts drift less than without it."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import run_config, write_pairs
from sentence_transformers import SentenceTransformer
from torch.nn import functional as F

from embedtune.config import parse_config
from embedtune.errors import ConfigError
from embedtune.objectives.distillation import FeatureDistillLoss
from embedtune.objectives.teacher import TeacherCache
from embedtune.pipeline import run_training

CACHED = ["a cat sat", "water in the river"]


def _perturb(model, seed: int = 1) -> None:
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model[0].auto_model.encoder.layer[0].parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))


def test_skip_unknown_distills_only_the_texts_the_cache_holds(tiny_model, tiny_model_dir):
    own = SentenceTransformer(str(tiny_model_dir), device="cpu")
    cache = TeacherCache.build(own, tiny_model, CACHED)
    _perturb(tiny_model)
    tiny_model.eval()
    loss = FeatureDistillLoss(tiny_model, cache, skip_unknown=True)
    batch = [["a cat sat", "the dog ran home"], ["never seen", "water in the river"]]
    value = loss([tiny_model.preprocess(column) for column in batch])
    student = tiny_model.encode(["a cat sat", "water in the river"], convert_to_tensor=True)
    teacher = own.encode(CACHED, convert_to_tensor=True)
    expected = (F.mse_loss(student[0:1], teacher[0:1]) + F.mse_loss(student[1:2], teacher[1:2])) / 2
    assert float(value) == pytest.approx(float(expected), rel=1e-4) and float(value) > 1e-4
    unknown = loss([tiny_model.preprocess(["the dog ran home"]), tiny_model.preprocess(["never seen"])])
    assert float(unknown) == 0.0
    unknown.backward()  # still part of the graph: a batch without general texts must not break the step
    with pytest.raises(KeyError, match="no teacher outputs"):
        FeatureDistillLoss(tiny_model, cache)([tiny_model.preprocess(["the dog ran home"])])


def _preserve_config(tmp_path, model_dir, weight: float) -> dict:
    raw = run_config(
        tmp_path,
        model_dir,
        scored=False,
        loss={
            "name": "composite",
            "components": [
                {"name": "domain", "loss": {"name": "mnrl"}},
                {
                    "name": "preserve",
                    "weight": weight,
                    "loss": {"name": "feature_distill", "teacher": "self", "distill_texts": "rehearsal"},
                },
            ],
        },
        training={"lr": 5e-3, "max_steps": 12},
    )
    general = write_pairs(tmp_path / "general.tsv", n=40, seed=9, scored=False)
    raw["data"]["rehearsal"] = {"data": {"path": str(general), "columns": {"label": "label"}}, "ratio": 1.0}
    return raw


def _general_drift(model_dir, tuned, general_texts: list[str]) -> float:
    base = SentenceTransformer(str(model_dir), device="cpu").encode(general_texts, convert_to_tensor=True)
    after = tuned.encode(general_texts, convert_to_tensor=True)
    return float(1 - F.cosine_similarity(base, after).mean())


def test_teacher_self_keeps_rehearsal_texts_near_their_untuned_embeddings(tmp_path, tiny_model_dir, monkeypatch):
    from embedtune.objectives import teacher as teacher_module

    encoded: list[list[str]] = []
    original = teacher_module.TeacherCache.build.__func__

    def recording_build(cls, teacher, student, texts, *args, **kwargs):
        encoded.append(list(texts))
        return original(cls, teacher, student, texts, *args, **kwargs)

    monkeypatch.setattr(teacher_module.TeacherCache, "build", classmethod(recording_build))
    drift = {}
    for weight in (1e-6, 3000.0):
        folder = tmp_path / f"w{weight:g}"
        folder.mkdir()
        result = run_training(parse_config(_preserve_config(folder, tiny_model_dir, weight)), folder / "run")
        general = (folder / "general.tsv").read_text(encoding="utf-8").splitlines()[1:]
        general_texts = [text for row in general for text in row.split("\t")[:2]]
        drift[weight] = _general_drift(tiny_model_dir, result.model, general_texts)
        # the teacher ran on the rehearsal pairs' texts only, not on the domain pairs
        assert encoded[-1] and set(encoded[-1]) <= set(general_texts)
        records = [json.loads(line) for line in (folder / "run" / "history.jsonl").read_text().splitlines()]
        assert any(record.get("preserve_raw", 0) > 0 for record in records)
    assert drift[3000.0] < 0.5 * drift[1e-6], drift


def test_self_distillation_config_errors(tmp_path, tiny_model_dir):
    raw = _preserve_config(tmp_path, tiny_model_dir, 10.0)
    del raw["data"]["rehearsal"]
    with pytest.raises(ConfigError, match="distill_texts: rehearsal needs data.rehearsal"):
        parse_config(raw)
    raw = run_config(
        tmp_path, tiny_model_dir, loss={"name": "score_distill", "teacher": "self", "distill_texts": "rehearsal"}
    )
    with pytest.raises(ConfigError, match="'loss.distill_texts' does not apply to loss score_distill"):
        parse_config(raw)
