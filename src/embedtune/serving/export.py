"""`embedtune export`: a model (or a run's model/) as an ONNX folder that encodes on its own, checked for parity.

Why our own exporter: sentence-transformers' ONNX backend goes through optimum, whose 2.x pins transformers 4. The
graph holds everything after tokenization (transformer, pooling, any Dense, normalisation), the folder holds the
tokenizer, so encoding needs only onnxruntime and `tokenizers` (no torch). ``onnx-int8`` is onnxruntime's dynamic
int8 quantisation of the fused graph: torch's own dynamic int8 costs MiniLM 0.015 STS-B Spearman, onnxruntime's
about 0.003.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from embedtune.errors import UserError
from embedtune.rundir import folder_atomic, write_json_atomic
from embedtune.serving.onnx_encoder import MANIFEST, OnnxEncoder

logger = logging.getLogger("embedtune")

FORMATS = ("onnx", "onnx-int8")
#: An export whose mean cosine to the fp32 model is below this is refused: it would not be the same model.
MIN_MEAN_COSINE = 0.99
#: The graph is traced on the CPU: onnxruntime's CPU provider is what runs it, and tracing needs no GPU.
TRACE_DEVICE = "cpu"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


def export_model(
    source: str,
    fmt: str,
    out: Path,
    texts: list[str],
    stsb: tuple[list[str], list[str], list[float]] | None = None,
    min_mean_cosine: float = MIN_MEAN_COSINE,
) -> dict:
    """Write the export to ``out`` (built in ``out.partial`` and renamed when its parity holds) and return parity.

    ``texts`` are the parity sample; ``stsb`` (sentences 1, sentences 2, gold scores) adds both models' Spearman.
    """
    from embedtune.modeling.load import load_model, model_of
    from embedtune.modeling.strategies import merge_lora

    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    model = load_model(model_of(source), device=TRACE_DEVICE)
    merge_lora(model)  # a LoRA run saved unmerged: the graph gets plain weights, no adapter ops
    with folder_atomic(out) as partial:
        _write_export(model, fmt, partial, source)
        parity = measure_parity(model, OnnxEncoder(partial), texts, stsb)
        parity.update(format=fmt, source=str(source), min_mean_cosine=min_mean_cosine)
        write_json_atomic(partial / "parity.json", parity)
        if parity["mean_cosine"] < min_mean_cosine:
            raise UserError(
                f"{out}: export refused, mean cosine to the fp32 model {parity['mean_cosine']:.4f} is below "
                f"{min_mean_cosine} (minimum {parity['min_cosine']:.4f} over {parity['texts']} texts)"
            )
    return parity


def _write_export(model, fmt: str, folder: Path, source: str) -> None:
    tokenizer = model.tokenizer
    inputs = [name for name in INPUT_NAMES if name in tokenizer.model_input_names]
    graph = folder / "model.fp32.onnx"
    _eager_attention(model)
    _trace(model, inputs, graph)
    fused = _fuse(graph, model)
    target = folder / "model.onnx"
    if fmt == "onnx-int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Fused nodes are contrib ops that onnx's shape inference does not type: their outputs are float.
        # Per-channel scales: per-tensor int8 moves MiniLM's embeddings to a mean cosine of 0.968, per-channel 0.994.
        quantize_dynamic(
            str(fused),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": 1},
        )
    else:
        fused.replace(target)
    for leftover in folder.glob("model.*.onnx*"):
        leftover.unlink()
    tokenizer.save_pretrained(str(folder))
    manifest = {
        "format": fmt,
        "source": str(source),
        "inputs": inputs,
        "max_seq_length": model.max_seq_length,
        "dimensions": model.get_embedding_dimension(),
        "normalized": _normalizes(model),
        "do_lower_case": bool(getattr(model[0], "do_lower_case", False)),
        "pad_token": tokenizer.pad_token,
        "pad_token_id": tokenizer.pad_token_id,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


class _SentenceEmbedding(torch.nn.Module):
    """The model from token ids to the sentence embedding, as one traceable module."""

    def __init__(self, model, inputs: list[str]) -> None:
        super().__init__()
        self.model, self.inputs = model, inputs

    def forward(self, *tensors):
        return self.model(dict(zip(self.inputs, tensors)))["sentence_embedding"]


def _trace(model, inputs: list[str], path: Path) -> None:
    encoded = model.tokenizer(
        ["a first example sentence", "and a second, longer one"], padding=True, return_tensors="pt"
    )
    args = tuple(encoded[name] for name in inputs)
    axes = {name: {0: "batch", 1: "tokens"} for name in inputs} | {"sentence_embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice; it is the one that fuses well
        torch.onnx.export(
            _SentenceEmbedding(model, inputs).eval(), args, str(path), input_names=inputs,
            output_names=["sentence_embedding"], dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )  # fmt: skip


def _eager_attention(model) -> None:
    """Trace the plain attention maths, not torch's fused SDPA: onnxruntime fuses the former into its Attention op
    (and int8 QAttention); the latter exports as a masked graph it leaves unfused."""
    inner = model[0].auto_model
    if hasattr(inner, "set_attn_implementation"):
        inner.set_attn_implementation("eager")


def _fuse(graph: Path, model) -> Path:
    """onnxruntime's transformer fusions (attention, layer norm, GELU): the int8 speed-up depends on them."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = model[0].auto_model.config
    fused = graph.with_name("model.fused.onnx")
    optimized = optimize_model(
        str(graph),
        model_type="bert",
        num_heads=getattr(config, "num_attention_heads", 0),
        hidden_size=getattr(config, "hidden_size", 0),
    )
    optimized.save_model_to_file(str(fused))
    return fused


def _normalizes(model) -> bool:
    return any(type(module).__name__ == "Normalize" for module in model)


def measure_parity(model, exported: OnnxEncoder, texts: list[str], stsb=None) -> dict:
    """Cosine between the exported and the fp32 embedding of each text; with ``stsb`` both models' Spearman."""
    reference = _encode_fp32(model, texts)
    candidate = exported.encode(texts, normalize=True)
    cosines = np.sum(reference * candidate, axis=1)
    parity = {"texts": len(texts), "mean_cosine": float(cosines.mean()), "min_cosine": float(cosines.min())}
    if stsb is not None:
        parity["stsb_dev_spearman"] = {
            "fp32": _spearman(lambda t: _encode_fp32(model, t), stsb),
            "export": _spearman(lambda t: exported.encode(t, normalize=True), stsb),
        }
    return parity


def _spearman(encode, stsb) -> float:
    from scipy.stats import spearmanr

    first, second, gold = stsb
    a, b = encode(first), encode(second)
    return float(spearmanr(np.sum(a * b, axis=1), gold).statistic)


def _encode_fp32(model, texts: list[str]) -> np.ndarray:
    return model.encode(texts, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
