"""Serving fixtures: the tiny model exported once (fp32 ONNX) and a tiny document set with ids and categories."""

from __future__ import annotations

from pathlib import Path

import pytest

TOPICS = {
    "printer": ["printer jams on every page", "the printer is offline again", "printer toner is empty"],
    "password": ["reset my password please", "password expired and locked", "forgot my password today"],
    "laptop": ["laptop screen is broken", "my laptop will not start", "laptop battery drains fast"],
}


@pytest.fixture(scope="session")
def tiny_export(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model as an fp32 ONNX export (built once per session; read it, do not change it)."""
    from embedtune.serving.export import export_model

    out = tmp_path_factory.mktemp("export") / "onnx"
    export_model(str(tiny_model_dir), "onnx", out, texts=[t for texts in TOPICS.values() for t in texts])
    return out


def write_documents(path: Path) -> Path:
    rows = [(f"T{i}", text, topic) for i, (topic, text) in enumerate((t, x) for t, xs in TOPICS.items() for x in xs)]
    path.write_text("id\ttext\tcategory\n" + "".join(f"{a}\t{b}\t{c}\n" for a, b, c in rows), encoding="utf-8")
    return path
