"""Distillation: teacher outputs cached once per text, score and feature losses, layer maps, training end to end."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import run_config
from sentence_transformers import SentenceTransformer

from embedtune.config import parse_config
from embedtune.objectives.distillation import (
    AttentionDistillLoss,
    FeatureDistillLoss,
    ScoreDistillLoss,
    uniform_layer_map,
)
from embedtune.objectives.teacher import TeacherCache, word_attention
from embedtune.pipeline import run_training

TEXTS = ["the dog ran home", "a cat sat", "the dog ran home", "The Dog ran home", "water in the river"]


def test_uniform_layer_map_spreads_student_layers_over_the_teacher():
    assert uniform_layer_map(6, 12) == {1: 2, 2: 4, 3: 6, 4: 8, 5: 10, 6: 12}
    assert uniform_layer_map(2, 4) == {1: 2, 2: 4}


def test_cache_encodes_each_distinct_text_once_and_looks_rows_up(tiny_model, tiny_teacher_dir):
    teacher = SentenceTransformer(str(tiny_teacher_dir), device="cpu")
    cache = TeacherCache.build(teacher, tiny_model, TEXTS, layers=[2, 4])
    # repeats and a case-only variant (the uncased student cannot tell them apart) are encoded once
    assert cache.texts_encoded == 3 and cache.dimension == 48 and set(cache.layers) == {2, 4}
    batch = tiny_model.preprocess(["a cat sat", "the dog ran home"])
    rows = cache.rows(batch)
    expected = teacher.encode(["a cat sat", "the dog ran home"], convert_to_tensor=True)
    torch.testing.assert_close(cache.embeddings[rows], expected, atol=1e-5, rtol=1e-4)
    with pytest.raises(KeyError, match="no teacher outputs"):
        cache.rows(tiny_model.preprocess(["never seen before"]))


def test_distillation_losses_are_zero_for_the_teacher_itself_and_positive_otherwise(tiny_model, tiny_model_dir):
    own = SentenceTransformer(str(tiny_model_dir), device="cpu")
    cache = TeacherCache.build(own, tiny_model, TEXTS, layers=[1, 2])
    features = [
        tiny_model.preprocess(["the dog ran home", "a cat sat"]),
        tiny_model.preprocess(["a cat sat", TEXTS[4]]),
    ]
    tiny_model.eval()
    score = ScoreDistillLoss(tiny_model, cache)
    feature = FeatureDistillLoss(tiny_model, cache, layer_map={1: 1, 2: 2})
    assert float(score(features)) == pytest.approx(0.0, abs=1e-10)
    assert float(feature(features)) == pytest.approx(0.0, abs=1e-10)
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in tiny_model[0].auto_model.encoder.layer[0].parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))
    assert float(score(features)) > 1e-4 and float(feature(features)) > 1e-4


def test_feature_distillation_projects_when_sizes_differ(tiny_model, tiny_teacher_dir):
    teacher = SentenceTransformer(str(tiny_teacher_dir), device="cpu")
    cache = TeacherCache.build(teacher, tiny_model, TEXTS, layers=[2, 4])
    loss = FeatureDistillLoss(tiny_model, cache, layer_map=uniform_layer_map(2, 4))
    assert loss.project.in_features == 32 and loss.project.out_features == 48
    assert set(loss.layer_projections) == {"1", "2"}
    value = loss([tiny_model.preprocess(TEXTS[:2])])
    value.backward()
    assert loss.project.weight.grad is not None and float(value) > 0


def test_distillation_run_encodes_each_training_text_once(tmp_path, tiny_model_dir, tiny_teacher_dir, monkeypatch):
    from embedtune.objectives import teacher as teacher_module

    built = []
    original = teacher_module.TeacherCache.build.__func__

    def counting_build(cls, teacher, student, texts, layers=(), batch_size=32, attention_layers=(), store=None):
        texts = list(texts)
        cache = original(cls, teacher, student, texts, layers, batch_size, attention_layers, store)
        built.append((len(set(texts)), cache.texts_encoded))
        return cache

    monkeypatch.setattr(teacher_module.TeacherCache, "build", classmethod(counting_build))
    components = [
        {"name": "sts", "loss": {"name": "cosine"}, "weight": 2.0},
        {"name": "score", "loss": {"name": "score_distill", "teacher": str(tiny_teacher_dir), "gold_blend": 0.5}},
        {
            "name": "feature",
            "loss": {"name": "feature_distill", "teacher": str(tiny_teacher_dir), "layer_map": "uniform"},
            "weight": 0.4,
        },
    ]
    raw = run_config(
        tmp_path,
        tiny_model_dir,
        loss={"name": "composite", "components": components},
        training={"max_steps": 12, "logging_steps": 2},
    )
    result = run_training(parse_config(raw), tmp_path / "run")
    assert len(built) == 1  # one teacher, one cache for both components, not one per epoch or step
    distinct, encoded = built[0]
    # 12 steps of 8 pairs = two epochs over 48 pairs, yet each distinct text ran through the teacher once
    assert 0 < encoded <= distinct < 96
    records = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    train = [r for r in records if r["kind"] == "train"]
    assert all({"sts_raw", "score_raw", "feature_raw", "feature_share"} <= set(r) for r in train)
    assert result.metrics["final"]
    saved = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert saved.get("output_hidden_states", False) is False  # switched on only inside the loss's forward


def test_word_attention_merges_word_pieces_and_drops_special_tokens():
    # tokens: [CLS] play ##ing dog [SEP] -> words 0 (play+##ing), 1 (dog)
    attention = torch.tensor(
        [
            [0.2, 0.2, 0.2, 0.2, 0.2],
            [0.1, 0.3, 0.3, 0.2, 0.1],
            [0.1, 0.1, 0.1, 0.6, 0.1],
            [0.5, 0.1, 0.1, 0.2, 0.1],
            [0.2, 0.2, 0.2, 0.2, 0.2],
        ]
    )
    words = word_attention(attention, [None, 0, 0, 1, None])
    # word 0 queries: mean of rows 1-2 -> keys word0 = (0.6 + 0.2) / 2 = 0.4, word1 = (0.2 + 0.6) / 2 = 0.4
    # word 1 query: row 3 -> word0 = 0.2, word1 = 0.2; rows renormalised
    torch.testing.assert_close(words, torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
    skewed = word_attention(torch.eye(5), [None, 0, 0, 1, None])
    torch.testing.assert_close(skewed, torch.tensor([[1.0, 0.0], [0.0, 1.0]]))


def test_attention_distillation_is_zero_against_itself_and_positive_otherwise(tiny_model, tiny_model_dir):
    own = SentenceTransformer(str(tiny_model_dir), device="cpu")
    cache = TeacherCache.build(own, tiny_model, TEXTS, attention_layers=[1, 2])
    assert set(cache.attention) == {1, 2} and len(cache.attention[1]) == cache.texts_encoded
    loss = AttentionDistillLoss(tiny_model, cache, {1: 1, 2: 2})
    features = [tiny_model.preprocess(["the dog ran home", "water in the river"])]
    tiny_model.eval()
    assert float(loss(features)) == pytest.approx(0.0, abs=1e-6)
    torch.manual_seed(2)
    with torch.no_grad():
        for parameter in tiny_model[0].auto_model.encoder.layer[0].attention.parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))
    assert float(loss(features)) > 1e-4
    # the student's attention implementation is restored after the loss ran eager
    assert tiny_model[0].auto_model.config._attn_implementation == own[0].auto_model.config._attn_implementation


def test_attention_distillation_from_a_bigger_teacher_trains(tmp_path, tiny_model_dir, tiny_teacher_dir):
    components = [
        {"name": "sts", "loss": {"name": "cosine"}},
        {"name": "attention", "loss": {"name": "attention_distill", "teacher": str(tiny_teacher_dir)}, "weight": 0.7},
    ]
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "composite", "components": components})
    run_training(parse_config(raw), tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    values = [r["attention_raw"] for r in records if r["kind"] == "train" and "attention_raw" in r]
    assert values and all(v > 0 for v in values)


def test_a_teacher_store_encodes_each_text_once_across_runs(tiny_model, tiny_teacher_dir, tmp_path, monkeypatch):
    from embedtune.objectives.teacher import teacher_store

    teacher = SentenceTransformer(str(tiny_teacher_dir), device="cpu")
    encoded: list[int] = []
    forward = teacher.forward

    def counting(features, *args, **kwargs):
        encoded.append(int(features["input_ids"].shape[0]))
        return forward(features, *args, **kwargs)

    monkeypatch.setattr(teacher, "forward", counting)
    monkeypatch.setenv("EMBEDTUNE_TEACHER_CACHE", str(tmp_path / "store"))
    store = teacher_store(str(tiny_teacher_dir), 32)
    assert store is not None and store.parent == tmp_path / "store"
    build = dict(layers=[2, 4], attention_layers=[4], store=store)
    first = TeacherCache.build(teacher, tiny_model, TEXTS[:2], **build)
    assert sum(encoded) == 2
    encoded.clear()
    again = TeacherCache.build(teacher, tiny_model, TEXTS, **build)  # two texts stored, one new
    assert sum(encoded) == 1
    rows = again.rows(tiny_model.preprocess(TEXTS[:2]))
    torch.testing.assert_close(again.embeddings[rows], first.embeddings)
    torch.testing.assert_close(again.layers[4][rows], first.layers[4])
    assert [again.attention[4][int(r)].shape for r in rows] == [first.attention[4][i].shape for i in range(2)]
    encoded.clear()
    TeacherCache.build(teacher, tiny_model, TEXTS, layers=[1], store=store)  # a layer no run stored yet
    assert sum(encoded) == 3
    encoded.clear()
    TeacherCache.build(teacher, tiny_model, TEXTS, layers=[1, 2], attention_layers=[4], store=store)
    assert sum(encoded) == 0  # every layer asked for is stored by now
    assert teacher_store(str(tiny_teacher_dir), 64) != store  # another max_seq_length, another file
    monkeypatch.delenv("EMBEDTUNE_TEACHER_CACHE")
    assert teacher_store(str(tiny_teacher_dir), 32) is None


def test_two_runs_writing_one_teacher_store_keep_each_others_entries(tmp_path):
    from embedtune.objectives.teacher import _read_store, _write_store

    store = tmp_path / "teacher.pt"
    _write_store(store, {"first": (torch.ones(2), {2: torch.ones(2)}, {})})
    _write_store(store, {"second": (torch.zeros(2), {}, {}), "first": (torch.ones(2), {4: torch.zeros(2)}, {})})
    found = _read_store(store)
    assert set(found) == {"first", "second"} and set(found["first"][1]) == {2, 4}
    store.write_bytes(b"not a cache")
    assert _read_store(store) == {}


@pytest.mark.parametrize(
    "loss, scored",
    [
        ({"name": "score_distill", "teacher": "self", "gold_blend": 0.5}, False),  # pairs: no gold to blend
        (  # binary rows beside an in-batch-negative component: the labels are dropped
            {
                "name": "composite",
                "components": [
                    {"name": "nce", "loss": {"name": "mnrl"}},
                    {"name": "score", "loss": {"name": "score_distill", "teacher": "self", "gold_blend": 0.5}},
                ],
            },
            True,
        ),
    ],
    ids=["pairs", "binary-with-mnrl"],
)
def test_gold_blend_without_gold_labels_is_refused(tmp_path, tiny_model_dir, loss, scored):
    """It blended nothing (labels None) or, beside group_mnrl, blended group ids as if they were scores."""
    from embedtune.errors import ConfigError

    raw = run_config(tmp_path, tiny_model_dir, loss=loss, scored=False)
    if not scored:
        raw["data"]["train"]["columns"] = {}  # the label column ignored: unlabelled pairs
    with pytest.raises(ConfigError, match="score_distill"):
        run_training(parse_config(raw), tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_attention_kl_is_finite_in_half_precision(dtype):
    """A word the teacher gives no attention: fp16's floor of 1e-12 is 0, and 0 * log 0 was NaN."""
    from embedtune.objectives.distillation import _row_kl

    target = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    predicted = torch.tensor([[0.4, 0.4, 0.2], [0.3, 0.3, 0.4]])
    half = _row_kl(target.to(dtype), predicted.to(dtype))
    assert half.dtype == torch.float32
    assert float(half) == pytest.approx(float(_row_kl(target, predicted)), abs=2e-3)
