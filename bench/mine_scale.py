"""How `embedtune mine` scales: seconds and peak memory on 3k, 30k and 300k synthetic categorised documents.

Documents (deterministic for ``--seed``): 20 categories; each document mixes the words of a theme (about 60 documents
share one theme's 8 rare words; 10% of documents take a theme of another category: the cross-category hard
negatives), its category's topic words (Zipfian over 400) and general words (Zipfian over 20,000), 6 to 29 words in
all. On 3,000 of them the default bands fill much as on the IT tickets.

Each size runs in a fresh subprocess that reads the documents file, mines with the default MiningConfig and writes
the files, as `embedtune mine` does (without the starter config); it reports its wall seconds (after imports) and
peak RSS (getrusage). The log-log slope of seconds against documents between two sizes says how time grows: 1 is
linear, 2 quadratic. Splits of up to ``exact_max_documents`` train documents score every pair (the exact path); larger
ones take random pairs and neighbour lists, so 3k is exact and the train splits of 30k and 300k are not.

    .venv/bin/python bench/mine_scale.py                     # 3k, 30k, 300k; writes bench/results/mine-scale.md
    .venv/bin/python bench/mine_scale.py --sizes 1000 3000 --out bench/out/mine-scale.md  # a quick check
    .venv/bin/python bench/mine_scale.py --sizes 3000 --exact-max-documents 0 --out bench/out/m.md  # not exact
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
CATEGORIES, GENERAL_WORDS, TOPIC_WORDS = 20, 20_000, 400
THEME_DOCUMENTS, THEME_WORDS, BORROWED = 60, 8, 0.1


def synthetic_documents(n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` documents and their categories (see the module docstring)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CATEGORIES, n)
    themes = _themes(labels, rng)
    lengths = rng.integers(6, 30, n)
    shares = rng.dirichlet([2.0, 2.0, 2.0], n)
    theme_count = rng.binomial(lengths, shares[:, 0])
    topic_count = rng.binomial(lengths - theme_count, shares[:, 1] / (shares[:, 1] + shares[:, 2]))
    general_count = lengths - theme_count - topic_count
    theme_words = iter(rng.integers(0, THEME_WORDS, theme_count.sum()).tolist())
    topic_words = iter(rng.choice(TOPIC_WORDS, topic_count.sum(), p=_zipf(TOPIC_WORDS)).tolist())
    general_words = iter(rng.choice(GENERAL_WORDS, general_count.sum(), p=_zipf(GENERAL_WORDS)).tolist())
    texts = []
    for d in range(n):
        words = [f"h{themes[d]}w{next(theme_words)}" for _ in range(theme_count[d])]
        words += [f"t{labels[d]}w{next(topic_words)}" for _ in range(topic_count[d])]
        words += [f"g{next(general_words)}" for _ in range(general_count[d])]
        texts.append(" ".join(words))
    return texts, [f"cat{c:02d}" for c in labels]


def _themes(labels, rng):
    """Each document's theme: one of its own category's, or (``BORROWED`` of the time) one of another category's."""
    import numpy as np

    count = max(CATEGORIES, len(labels) // THEME_DOCUMENTS)
    owner = np.sort(np.arange(count) % CATEGORIES)  # themes grouped by category, each category >= 1
    start = np.searchsorted(owner, np.arange(CATEGORIES + 1))
    own = start[labels] + (rng.random(len(labels)) * (start[labels + 1] - start[labels])).astype(int)
    other = (labels + rng.integers(1, CATEGORIES, len(labels))) % CATEGORIES
    borrowed = start[other] + (rng.random(len(labels)) * (start[other + 1] - start[other])).astype(int)
    return np.where(rng.random(len(labels)) < BORROWED, borrowed, own)


def _zipf(size: int):
    import numpy as np

    weights = 1.0 / np.arange(1, size + 1) ** 1.07
    return weights / weights.sum()


# --- one size, in a fresh process -------------------------------------------------------------------------------


def child(documents: Path, out: Path, exact_max_documents: int | None) -> None:
    """Mine ``documents`` as `embedtune mine` does and print one JSON line of measurements."""
    # Everything mining imports lazily, imported first: the seconds and the baseline RSS are then the mining's own.
    import faiss  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    from embedtune.data.documents import load_documents
    from embedtune.data.mining import MiningConfig, mine_category_pairs, write_mined

    baseline = _peak_rss_mb()
    start = time.perf_counter()
    texts, labels = load_documents(documents)
    config = MiningConfig() if exact_max_documents is None else MiningConfig(exact_max_documents=exact_max_documents)
    mined = mine_category_pairs(texts, labels, config)
    write_mined(mined, out, format="jsonl")
    seconds = time.perf_counter() - start
    train = mined.summary["train"]
    result = {
        "documents": len(texts),
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_after_imports_mb": baseline,
        "train_pairs": train["pairs"],
        "shortfalls": len(train["shortfalls"]),
        "method": train["candidates"]["method"],
        "neighbour_pairs": train["candidates"].get("neighbour_pairs", 0),
        "neighbour_bands": train["candidates"].get("neighbour_bands", []),
    }
    print(json.dumps(result))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# --- the parent -------------------------------------------------------------------------------------------------


def run_size(n: int, args: argparse.Namespace, work: Path) -> dict:
    texts, labels = synthetic_documents(n, args.seed)
    documents = work / f"documents-{n}.tsv"
    rows = "".join(f"{t}\t{c}\n" for t, c in zip(texts, labels))
    documents.write_text("text\tcategory\n" + rows, encoding="utf-8")
    env = {**os.environ, **{name: str(args.threads) for name in THREAD_VARIABLES}}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(documents), str(work / f"mined-{n}")]
    if args.exact_max_documents is not None:
        command += ["--exact-max-documents", str(args.exact_max_documents)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"mining {n} documents failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def slope(a: dict, b: dict) -> float:
    return math.log(b["seconds"] / a["seconds"]) / math.log(b["documents"] / a["documents"])


def machine() -> list[str]:
    unlimited = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT")}
    cpus = subprocess.run(["nproc"], capture_output=True, text=True, check=False, env=unlimited).stdout.strip()
    model = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), platform.processor()
    )
    import faiss
    import numpy
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    pools = ", ".join(
        f"{p.get('internal_api')} {p.get('architecture', '')} x{p.get('num_threads')}".replace("  ", " ")
        for p in threadpool_info()
    )
    return [
        f"Machine: `nproc` {cpus}, CPU {model}; Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, faiss-cpu {faiss.__version__}",
        f"Thread pools in this process (children get the same thread variables): {pools}",
    ]


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def report(results: list[dict], args: argparse.Namespace) -> str:
    sizes = " ".join(str(n) for n in args.sizes)
    exact = "" if args.exact_max_documents is None else f" --exact-max-documents {args.exact_max_documents}"
    lines = [
        "# `embedtune mine` at scale",
        "",
        f"Command: `python bench/mine_scale.py --sizes {sizes} --threads {args.threads} --seed {args.seed}{exact}` "
        f"({' '.join(f'{v}={args.threads}' for v in THREAD_VARIABLES)} in each child)",
        "",
        *machine(),
        "",
        f"Synthetic categorised documents (bench/mine_scale.py), MiningConfig defaults{exact}; seconds = read + mine "
        "+ write in a fresh process after its imports; peak RSS of that process.",
        "",
        "| documents | path | seconds | peak RSS MB | RSS after imports MB | train pairs | short bands | "
        "neighbour pairs | bands from neighbour lists |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['documents']} | {r['method']} | {r['seconds']:.1f} | {r['peak_rss_mb']:.0f} | "
            f"{r['rss_after_imports_mb']:.0f} | {r['train_pairs']} | {r['shortfalls']} | {r['neighbour_pairs']} | "
            f"{', '.join(r['neighbour_bands']) or '-'} |"
        )
    lines += ["", "Log-log slope of seconds against documents (1 = linear, 2 = quadratic):", ""]
    lines += [f"- {a['documents']} -> {b['documents']}: {slope(a, b):.2f}" for a, b in zip(results, results[1:])]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3_000, 30_000, 300_000])
    parser.add_argument("--threads", type=int, default=2, help="OMP/MKL/OpenBLAS threads of each child")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic documents")
    parser.add_argument(
        "--exact-max-documents", type=int, help="MiningConfig.exact_max_documents (default: its default)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "mine-scale.md")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.exact_max_documents)
        return
    for name in THREAD_VARIABLES:
        os.environ[name] = str(args.threads)
    results = []
    with tempfile.TemporaryDirectory(prefix="mine-scale-") as work:
        for n in sorted(args.sizes):
            results.append(run_size(n, args, Path(work)))
            r = results[-1]
            print(f"{n:>8} documents: {r['seconds']:7.1f} s, peak RSS {r['peak_rss_mb']:6.0f} MB ({r['method']})")
    for a, b in zip(results, results[1:]):
        print(f"slope {a['documents']} -> {b['documents']}: {slope(a, b):.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(results, args), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
