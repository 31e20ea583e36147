"""The serving commands (export, encode, index, search, serve); cli.py registers them on the app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from embedtune.errors import UserError
from embedtune.rundir import check_new_file

ModelOption = Annotated[str, typer.Option("--model", "-m", help="run dir, model folder, export folder or 'default'")]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda or mps (a torch model; exports run on the CPU)")]
OverwriteOption = Annotated[bool, typer.Option(help="replace an existing output")]


def export(
    source: Annotated[str, typer.Argument(help="run dir, model folder or 'default'")],
    out: Annotated[Path, typer.Option("--out", "-o", help="export folder to write")],
    format: Annotated[str, typer.Option("--format", help="onnx (fp32) or onnx-int8 (dynamic int8)")] = "onnx-int8",
    texts: Annotated[
        Path | None, typer.Option(help="parity sample, a TSV/CSV/JSONL of texts (default: bundled sample pairs)")
    ] = None,
    column: Annotated[str, typer.Option(help="text column of --texts")] = "text",
    min_cosine: Annotated[float, typer.Option(help="refuse an export whose mean cosine to fp32 is lower")] = 0.99,
    overwrite: OverwriteOption = False,
) -> None:
    """Export to ONNX (tokenizer and pooling included) and check it against the fp32 model: parity.json holds the
    mean and minimum cosine on a text sample, and both models' STS-B dev Spearman when ../shared/data is there."""
    from embedtune.serving.export import FORMATS, export_model
    from embedtune.serving.onnx_encoder import MANIFEST
    from embedtune.serving.texts import parity_texts, stsb_dev

    if format not in FORMATS:
        raise UserError(f"--format {format}: choose one of {', '.join(FORMATS)}")
    if not -1.0 <= min_cosine <= 1.0:  # above 1 every export would be refused
        raise UserError(f"--min-cosine {min_cosine:g}: a cosine, between -1 and 1")
    _check_new_dir(out, overwrite, MANIFEST)
    sample = parity_texts(texts, column)
    parity = export_model(source, format, out, sample, stsb_dev(), min_cosine)
    line = f"{format} export in {out}: mean cosine {parity['mean_cosine']:.4f} (min {parity['min_cosine']:.4f})"
    if "stsb_dev_spearman" in parity:
        spearman = parity["stsb_dev_spearman"]
        line += f"; STS-B dev Spearman {spearman['fp32']:.4f} fp32, {spearman['export']:.4f} export"
    typer.echo(line)


def encode(
    data: Annotated[Path, typer.Argument(help="texts to encode: TSV, CSV or JSONL")],
    out: Annotated[Path, typer.Option("--out", "-o", help="OUT.npy (the array) or OUT.parquet (text + embedding)")],
    model: ModelOption = "default",
    column: Annotated[str, typer.Option(help="the column holding the texts")] = "text",
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    normalize: Annotated[bool, typer.Option(help="unit-length embeddings")] = False,
    device: DeviceOption = "auto",
    overwrite: OverwriteOption = False,
) -> None:
    """Encode a column of texts with a model or an export (onnxruntime, no torch) into .npy or .parquet."""
    from embedtune.serving.encoder import load_encoder
    from embedtune.serving.texts import read_texts, write_embeddings

    if out.suffix not in (".npy", ".parquet"):
        raise UserError(f"{out}: the output must end in .npy or .parquet")
    check_new_file(out, overwrite)
    texts = read_texts(data, column)
    encoder = load_encoder(model, device)
    vectors = encoder.encode(texts, batch_size=batch_size, normalize=normalize, show_progress_bar=True)
    write_embeddings(out, texts, vectors)
    typer.echo(f"wrote {len(texts)} x {vectors.shape[1]} embeddings to {out}")


def index(
    documents: Annotated[Path, typer.Argument(help="documents: TSV, CSV or JSONL with a text column")],
    out: Annotated[Path, typer.Option("--out", "-o", help="index folder to write")],
    model: ModelOption = "default",
    text_column: Annotated[str, typer.Option(help="text column")] = "text",
    id_column: Annotated[
        str | None, typer.Option(help="id column (default: 'id' if the file has one, else the line number)")
    ] = None,
    category_column: Annotated[
        str | None, typer.Option(help="category column (default: 'category' if the file has one)")
    ] = None,
    kind: Annotated[str, typer.Option(help="exact, hnsw (faiss) or auto (hnsw from 100k documents)")] = "auto",
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: DeviceOption = "auto",
    overwrite: OverwriteOption = False,
) -> None:
    """Encode documents into a similar-document index for `search` and `serve`."""
    from embedtune.serving.encoder import load_encoder
    from embedtune.serving.index import INDEX_FILE, KINDS, build_index, read_documents

    if kind not in KINDS:
        raise UserError(f"--kind {kind}: choose one of {', '.join(KINDS)}")
    _check_new_dir(out, overwrite, INDEX_FILE)
    docs = read_documents(documents, text_column, id_column, category_column)
    encoder = load_encoder(model, device)
    vectors = encoder.encode(docs.texts, batch_size=batch_size, normalize=True, show_progress_bar=True)
    meta = build_index(docs, vectors, _portable(model), out, kind)
    typer.echo(f"indexed {meta['documents']} documents ({meta['kind']}) in {out}")


def search(
    index: Annotated[Path, typer.Argument(help="index folder (embedtune index)")],
    query: Annotated[str | None, typer.Argument(help="the text to find similar documents for")] = None,
    queries: Annotated[Path | None, typer.Option(help="a file of queries instead (column --column)")] = None,
    column: Annotated[str, typer.Option(help="text column of --queries")] = "text",
    k: Annotated[int, typer.Option("-k", min=1, help="documents per query")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
    model: Annotated[str | None, typer.Option(help="query model (default: the index's own)")] = None,
    device: DeviceOption = "auto",
) -> None:
    """The k documents most similar to a query (cosine), with score and category."""
    from embedtune.serving.encoder import load_encoder
    from embedtune.serving.index import Index
    from embedtune.serving.texts import read_texts

    if (query is None) == (queries is None):
        raise UserError("give a query text or --queries FILE (one of the two)")
    if query is not None and not query.strip():
        raise UserError("query: empty text")
    found = Index(index)
    texts = [query] if query is not None else read_texts(queries, column)
    encoder = load_encoder(model or found.model, device)
    results = found.search(encoder.encode(texts, normalize=True), k)
    for text, hits in zip(texts, results):
        if as_json:
            typer.echo(json.dumps({"query": text, "hits": [hit.as_dict() for hit in hits]}, ensure_ascii=False))
            continue
        typer.echo(f"query: {text}")
        for rank, hit in enumerate(hits, 1):
            category = f" [{hit.category}]" if hit.category is not None else ""
            typer.echo(f"{rank:>3}. {hit.score:.4f}  {hit.id}{category}  {_clip(hit.text)}")


def serve(
    index: Annotated[Path, typer.Argument(help="index folder (embedtune index)")],
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
    model: Annotated[str | None, typer.Option(help="query model (default: the index's own)")] = None,
    max_texts: Annotated[int, typer.Option(min=1, help="texts per request")] = 64,
    max_text_chars: Annotated[int, typer.Option(min=1, help="characters per text")] = 10_000,
    max_body_bytes: Annotated[int, typer.Option(min=1, help="bytes per request body")] = 1_000_000,
    device: DeviceOption = "auto",
) -> None:
    """Serve POST /embed, POST /search and GET /health over HTTP (needs the serve extra: FastAPI + uvicorn)."""
    from embedtune.serving.encoder import load_encoder
    from embedtune.serving.index import Index
    from embedtune.serving.service import Limits, create_app, serve

    found = Index(index)
    limits = Limits(max_body_bytes=max_body_bytes, max_texts=max_texts, max_text_chars=max_text_chars)
    app = create_app(found, load_encoder(model or found.model, device), limits)
    serve(app, host, port)


def _portable(model: str) -> str:
    """What index.json records as the model: a folder as an absolute path (the index may be read from elsewhere)."""
    from embedtune.modeling.load import model_of

    location = Path(model_of(model))
    return str(location.resolve()) if location.exists() else model


def _clip(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _check_new_dir(out: Path, overwrite: bool, marker: str) -> None:
    """A folder to create, or with --overwrite one this command wrote before (never any other folder)."""
    from embedtune.rundir import check_writable_dir

    if out.exists():
        if not overwrite:
            raise UserError(f"{out}: exists; pass --overwrite to replace it")
        if not out.is_dir() or not ((out / marker).is_file() or not any(out.iterdir())):
            raise UserError(f"{out}: exists and was not written by this command (no {marker}); choose another --out")
    check_writable_dir(out)
