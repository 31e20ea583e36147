"""One way to encode, whatever the user points at: a run dir, a model folder, 'default' or an exported folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedtune.serving.onnx_encoder import OnnxEncoder, check_export, is_export


def load_encoder(location: str, device: str = "auto", threads: int | None = None):
    """An :class:`OnnxEncoder` for an export (no torch), else a :class:`TorchEncoder` on ``device``."""
    from embedtune.modeling.load import model_of

    location = model_of(location)
    if is_export(location):
        check_export(Path(location))
        return OnnxEncoder(location, threads)
    from embedtune.modeling.load import load_model

    if threads:
        import torch

        torch.set_num_threads(threads)
    return TorchEncoder(load_model(location, device=device))


class TorchEncoder:
    """A SentenceTransformer behind the same ``encode`` as :class:`OnnxEncoder`."""

    def __init__(self, model) -> None:
        self.model = model
        self.dimensions = model.get_embedding_dimension()
        self.max_seq_length = model.max_seq_length

    def encode(
        self, texts: list[str], batch_size: int = 32, normalize: bool = False, show_progress_bar: bool = False
    ) -> np.ndarray:
        embeddings = self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=normalize,
            show_progress_bar=show_progress_bar,
            convert_to_numpy=True,
        )
        return np.asarray(embeddings, dtype=np.float32)
