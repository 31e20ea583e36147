"""Resource errors mid-run (full disk, out of memory, refused write) become one line with the next thing to try."""

from __future__ import annotations

import errno
import json

import pytest
from helpers import run_config

from embedtune.config import parse_config
from embedtune.errors import ResourceError, resource_error
from embedtune.pipeline import run_training


def test_translation_of_each_resource_failure():
    disk = resource_error(OSError(errno.ENOSPC, "No space left on device", "/runs/x/model"), 32)
    assert "disk full writing /runs/x/model" in str(disk) and "--resume" in str(disk)
    memory = resource_error(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB"), 64)
    assert "smaller training.batch_size (now 64)" in str(memory) and "cached_mnrl" in str(memory)
    assert "permission denied writing /x" in str(resource_error(PermissionError(13, "Permission denied", "/x")))
    assert resource_error(ValueError("something else")) is None
    assert all("\n" not in str(e) for e in (disk, memory))


def test_full_disk_while_saving_the_model_fails_the_run_with_advice(tmp_path, tiny_model_dir, monkeypatch):
    import embedtune.pipeline as pipeline

    def full_disk(model, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pipeline, "save_model_atomic", full_disk)
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "cosine"})
    with pytest.raises(ResourceError, match="disk full writing .*model"):
        run_training(parse_config(raw), tmp_path / "run")
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["state"] == "failed" and (tmp_path / "run" / "checkpoints").exists()  # checkpoints survive


def test_out_of_memory_in_a_batch_suggests_a_smaller_batch(tmp_path, tiny_model_dir, monkeypatch):
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    def oom(self, features, labels):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 68719476736 bytes")

    monkeypatch.setattr(CosineSimilarityLoss, "forward", oom)
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "cosine"})
    with pytest.raises(ResourceError, match=r"out of memory .* smaller training.batch_size \(now 8\)"):
        run_training(parse_config(raw), tmp_path / "run")
