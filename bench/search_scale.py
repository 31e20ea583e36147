"""Similar-document search at 100k documents: exact inner product against faiss HNSW, recall@10 and latency.

.venv/bin/python bench/search_scale.py [--documents 100000] [--queries 1000]     (~6 min alone on 2 CPU cores)

The corpus is built from the real IT tickets (../shared/data/it_tickets/tickets.tsv): each document is a ticket
with a span of another ticket of the same category appended and a tenth of its words dropped, so the corpus has the
near-duplicates and topic clusters of a service desk's history. Queries are built the same way with another seed.
Everything is encoded with the int8 ONNX export of all-MiniLM-L6-v2 (bench/onnx_speed.py makes it), indexed with
`embedtune index`'s code (exact and hnsw), and searched one query at a time (latency p50 / p95) and all at once.
Recall@10: the share of the exact top 10 that HNSW returns. Writes bench/results/search-scale.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from pathlib import Path

import numpy as np
from bench_util import write_result

ROOT = Path(__file__).resolve().parent.parent
TICKETS = ROOT.parent / "shared" / "data" / "it_tickets" / "tickets.tsv"
OUT = ROOT / "bench" / "out" / "search"
EXPORT = ROOT / "bench" / "out" / "onnx" / "int8"
THREADS, K = 2, 10


def corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    with open(TICKETS, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    by_category: dict[str, list[str]] = {}
    for row in rows:
        by_category.setdefault(row["category"], []).append(row["text"])
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in rng.integers(0, len(rows), n):
        category = rows[i]["category"]
        other = by_category[category][rng.integers(len(by_category[category]))].split()
        start = rng.integers(len(other))
        words = rows[i]["text"].split() + other[start : start + rng.integers(3, 12)]
        kept = [w for w in words if rng.random() > 0.1] or words
        texts.append(" ".join(kept))
        labels.append(category)
    return texts, labels


def timed_queries(index, queries: np.ndarray) -> tuple[list[float], float]:
    """Milliseconds of each single-query search, and seconds for all queries in one call."""
    single = []
    for q in queries:
        started = time.perf_counter()
        index.search(q[None, :], K)
        single.append(1000 * (time.perf_counter() - started))
    started = time.perf_counter()
    index.search(queries, K)
    return single, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    import faiss

    from embedtune.serving import index as search_index
    from embedtune.serving.onnx_encoder import OnnxEncoder

    faiss.omp_set_num_threads(THREADS)
    OUT.mkdir(parents=True, exist_ok=True)
    texts, labels = corpus(args.documents, seed=0)
    query_texts, _ = corpus(args.queries, seed=1)
    encoder = OnnxEncoder(EXPORT, threads=THREADS)
    started = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=64, normalize=True, show_progress_bar=True)
    encode_seconds = time.perf_counter() - started
    queries = encoder.encode(query_texts, normalize=True)
    documents = search_index.Documents([str(i) for i in range(len(texts))], texts, labels)
    found, rows = {}, []
    for kind in ("exact", "hnsw"):
        started = time.perf_counter()
        search_index.build_index(documents, vectors, str(EXPORT), OUT / kind, kind)
        built = time.perf_counter() - started
        index = search_index.Index(OUT / kind)
        single, batch = timed_queries(index, queries)
        found[kind] = [[hit.id for hit in hits] for hits in index.search(queries, K)]
        rows.append((kind, built, np.percentile(single, 50), np.percentile(single, 95), len(queries) / batch))
    truth = found["exact"]
    recall = np.mean([len(set(a) & set(b)) / K for a, b in zip(truth, found["hnsw"])])
    lines = [
        f"Command: `.venv/bin/python bench/search_scale.py --documents {args.documents} --queries {args.queries}` "
        f"on {os.cpu_count()} CPU cores ({platform.machine()}), {THREADS} threads (numpy BLAS, faiss), "
        f"faiss-cpu {faiss.__version__}; corpus from the IT tickets (see the script), 384-dim int8-ONNX MiniLM "
        f"embeddings, encoded at {len(texts) / encode_seconds:.0f} documents/s.",
        "",
        f"| index | build s | latency p50 ms | latency p95 ms | queries/s (batch of {len(queries)}) | recall@{K} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, built, p50, p95, per_second in rows:
        shown = "1 (reference)" if kind == "exact" else f"{recall:.4f}"
        lines.append(f"| {kind} | {built:.1f} | {p50:.2f} | {p95:.2f} | {per_second:.0f} | {shown} |")
    hnsw = search_index
    lines += [
        "",
        f"HNSW: M {hnsw.HNSW_M}, efConstruction {hnsw.HNSW_EF_CONSTRUCTION}, efSearch {hnsw.HNSW_EF_SEARCH}. "
        "Latency is one query per call, the query already encoded; build includes writing the index folder.",
    ]
    write_result("search-scale", lines)


if __name__ == "__main__":
    main()
