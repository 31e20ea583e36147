"""Encode with an exported folder through onnxruntime and `tokenizers`: no torch in the hot path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from embedtune.errors import UserError

MANIFEST = "embedtune_export.json"


def is_export(folder: str | Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


class OnnxEncoder:
    """``encode(texts) -> float32 array``, batches sorted by length as sentence-transformers does (less padding).

    ``threads``: onnxruntime's intra-op threads (default: torch's convention, every core).
    """

    def __init__(self, folder: str | Path, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.manifest["max_seq_length"])
        self.tokenizer.no_padding()  # each batch is padded to its own longest text in _run
        self.dimensions = int(self.manifest["dimensions"])
        self.max_seq_length = int(self.manifest["max_seq_length"])

    def encode(
        self, texts: list[str], batch_size: int = 32, normalize: bool = False, show_progress_bar: bool = False
    ) -> np.ndarray:
        from tqdm.auto import tqdm

        if self.manifest.get("do_lower_case"):
            texts = [text.lower() for text in texts]
        # Tokenized once, then batched by token count (sentence-transformers sorts by characters): a quarter less
        # padding on STS-B, which dynamic int8 also quantises.
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        output = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for start in tqdm(range(0, len(texts), batch_size), desc="Batches", disable=not show_progress_bar):
            rows = order[start : start + batch_size]
            output[rows] = self._run([encodings[i] for i in rows])
        if normalize and not self.manifest.get("normalized"):
            output /= np.maximum(np.linalg.norm(output, axis=1, keepdims=True), 1e-12)
        return output

    def _run(self, encodings: list) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in self.manifest["inputs"]}
        arrays["input_ids"][:] = self.manifest["pad_token_id"]
        for row, encoding in enumerate(encodings):
            size = len(encoding.ids)
            arrays["input_ids"][row, :size] = encoding.ids
            arrays["attention_mask"][row, :size] = 1
            if "token_type_ids" in arrays:
                arrays["token_type_ids"][row, :size] = encoding.type_ids
        return self.session.run(None, arrays)[0]


def check_export(folder: Path) -> None:
    """A folder named as an export must hold what encoding needs, or say which file is missing."""
    for name in (MANIFEST, "model.onnx", "tokenizer.json"):
        if not (folder / name).is_file():
            raise UserError(f"{folder}: not a complete embedtune export (no {name}); run embedtune export again")
