"""Attention distillation between models whose tokenizers split words differently: the maps are compared per word.

The teacher here knows no whole word (letters and ``##letters`` only), so every word is several teacher tokens and
usually one student token; the student is the usual tiny model."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import run_config
from sentence_transformers import SentenceTransformer
from tiny_model import DIGITS, LETTERS, PUNCTUATION, SPECIAL_TOKENS, build_tiny_model

from embedtune.config import parse_config
from embedtune.objectives.distillation import AttentionDistillLoss
from embedtune.objectives.teacher import TeacherCache
from embedtune.pipeline import run_training

TEXTS = ["the dog ran home", "a cat sat on the bed", "water in the river, at night"]


def letter_vocab() -> list[str]:
    tokens = SPECIAL_TOKENS + LETTERS + [f"##{c}" for c in LETTERS + DIGITS] + DIGITS
    return list(dict.fromkeys(tokens + PUNCTUATION))


@pytest.fixture(scope="module")
def letter_teacher_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("letter_teacher")
    return build_tiny_model(folder, hidden_size=48, layers=3, seed=2, vocab=letter_vocab())


def test_the_teacher_splits_words_into_more_tokens_than_the_student(tiny_model, letter_teacher_dir):
    teacher = SentenceTransformer(str(letter_teacher_dir), device="cpu")
    for text in TEXTS:
        student_tokens = tiny_model.tokenizer(text)["input_ids"]
        teacher_tokens = teacher.tokenizer(text)["input_ids"]
        assert len(teacher_tokens) > len(student_tokens)


def test_word_maps_have_one_row_per_word_on_both_sides(tiny_model, letter_teacher_dir):
    teacher = SentenceTransformer(str(letter_teacher_dir), device="cpu")
    cache = TeacherCache.build(teacher, tiny_model, TEXTS, attention_layers=[1, 3])
    for row, text in enumerate(TEXTS):
        words = len({w for w in cache.student_words[row] if w is not None})
        assert words == len(tiny_model.tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(text))
        for layer in (1, 3):
            word_map = cache.attention[layer][row]
            assert word_map.shape == (words, words)
            assert torch.allclose(word_map.sum(dim=1), torch.ones(words), atol=1e-5)  # rows are distributions


def test_the_loss_is_finite_and_reaches_the_students_attention(tiny_model, letter_teacher_dir):
    teacher = SentenceTransformer(str(letter_teacher_dir), device="cpu")
    cache = TeacherCache.build(teacher, tiny_model, TEXTS, attention_layers=[1, 3])
    loss = AttentionDistillLoss(tiny_model, cache, {1: 1, 2: 3})
    features = tiny_model.tokenize(TEXTS)
    value = loss([features])
    assert torch.isfinite(value) and value > 0
    value.backward()
    query = tiny_model[0].auto_model.encoder.layer[0].attention.self.query.weight
    assert query.grad is not None and query.grad.abs().sum() > 0


def test_a_run_distills_attention_from_the_other_tokenizer(tmp_path, tiny_model_dir, letter_teacher_dir):
    attention = {"name": "attention_distill", "teacher": str(letter_teacher_dir)}
    components = [{"name": "sts", "loss": {"name": "cosine"}}, {"name": "attention", "loss": attention, "weight": 0.7}]
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "composite", "components": components})
    run_training(parse_config(raw), tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    values = [r["attention_raw"] for r in records if r["kind"] == "train" and "attention_raw" in r]
    assert values and all(v > 0 for v in values)
