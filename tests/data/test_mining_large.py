"""Mining above ``exact_max_documents``: random pairs and nearest-neighbour lists instead of every pair.

The small fixtures stay on the exact path, pinned to the rows mined before the sparse path existed; a mid-size
synthetic corpus is forced onto the sparse path (``exact_max_documents=0``) and checked against the exact one.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib.util import find_spec

import numpy as np
import pydantic
import pytest
from helpers import SYNTHETIC_PHASES, mining_config, synthetic_documents

from embedtune.data.mining import LABELS, MiningConfig, band_contains, fit_tfidf, format_summary, mine_category_pairs
from embedtune.data.mining_candidates import all_pairs, sampled_pairs
from embedtune.errors import UserError

#: The sparse path's neighbour index is faiss-cpu, a dependency of embedtune; an environment made before it was one
#: still runs the tests that do not search.
needs_faiss = pytest.mark.skipif(find_spec("faiss") is None, reason="faiss-cpu is not installed")

#: sha256 (first 16 hex digits) of the train and eval rows, and of the summary without ``candidates``, as mined
#: before the sparse path existed (commit 916b6fc): small corpora must mine exactly as they did.
PINNED = {
    "default": ("a3bfb4e6a4561461", "76470647cab7de9f"),
    "banded": ("6564004a25f87c95", "e6ba8deadd21dfcb"),
    "short": ("b32313cc28ff6339", "ca5e5542d217c7ae"),
}
CASES = {"default": {}, "banded": {"eval_pairs": "banded", "eval_pairs_per_category": 2}}
CASES["short"] = {"seed": 3, "pairs_per_category": 500}


def digest(value, sort_keys: bool = False) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=sort_keys).encode()).hexdigest()[:16]


def mined_rows(mined) -> list:
    return [list(zip(d.texts1, d.texts2, d.labels, d.phases, d.groups)) for d in (mined.train, mined.eval)]


def mid_size_documents() -> tuple[list[str], list[str]]:
    return synthetic_documents(per_category=200, seed=1)


def sparse_config(**overrides) -> MiningConfig:
    return mining_config(exact_max_documents=0, neighbours=20, **overrides)


@pytest.mark.parametrize("case", list(CASES))
def test_small_corpora_mine_exactly_as_before(case):
    mined = mine_category_pairs(*synthetic_documents(), mining_config(**CASES[case]))
    summary = json.loads(json.dumps(mined.summary))
    for split in ("train", "eval"):
        assert summary[split].pop("candidates") == {"method": "all pairs", "available": "exact"}
    # Added later with the test split (mine --test-fraction), all zero here: the pinned summary predates them.
    assert summary.pop("test_fraction") == 0 and summary["documents"].pop("test") == 0
    assert all(counts.pop("test_documents") == 0 for counts in summary["categories"].values())
    assert (digest(mined_rows(mined)), digest(summary, sort_keys=True)) == PINNED[case]


def candidate_sets(candidates) -> dict:
    return {slot: set(zip(*(a.tolist() for a in pool.ordered()[:2]))) for slot, pool in candidates.pools.items()}


@needs_faiss
def test_full_neighbour_lists_give_exactly_the_dense_candidates():
    """With lists holding every document, the sparse path's candidates are the dense path's, slot by slot; with
    short lists they are a subset (every candidate scored exactly, so never a pair outside its band)."""
    texts, labels = mid_size_documents()
    x = fit_tfidf(texts, mining_config()).transform(texts)
    y, categories = np.array(labels), sorted(set(labels))
    bands = {(p, name): tuple(b[name]) for p, b in SYNTHETIC_PHASES.items() for name in LABELS}
    keep_all = 10**7  # reservoirs larger than any band: the whole candidate set is kept
    dense = candidate_sets(all_pairs(x, y, categories, bands, keep_all, np.random.default_rng(0)))
    # Few random draws: random pairs fill no slot, so every slot takes the neighbour lists.
    full = sampled_pairs(x, y, categories, bands, keep_all, np.random.default_rng(0), 50, len(texts) - 1, 0)
    assert full.info["neighbour_bands"] == sorted(f"{p} {name}" for p, name in bands)
    assert candidate_sets(full) == dense and all(dense.values())
    short = sampled_pairs(x, y, categories, bands, keep_all, np.random.default_rng(0), 50, 5, 0)
    found = candidate_sets(short)
    assert all(found[slot] <= dense[slot] for slot in dense)
    assert sum(map(len, found.values())) < sum(map(len, dense.values()))


@needs_faiss
def test_sparse_pairs_lie_in_their_bands_with_right_labels_and_no_duplicates():
    cfg = sparse_config()
    mined = mine_category_pairs(*mid_size_documents(), cfg)
    vectorizer = fit_tfidf(mined.train_documents[0], cfg)
    for data, documents in ((mined.train, mined.train_documents), (mined.eval, mined.eval_documents)):
        category = dict(zip(*documents))
        a, b = vectorizer.transform(data.texts1), vectorizer.transform(data.texts2)
        cosines = np.asarray(a.multiply(b).sum(axis=1)).ravel()
        keys = [frozenset(pair) for pair in zip(data.texts1, data.texts2)]
        assert len(set(keys)) == len(keys) and all(len(k) == 2 for k in keys)
        for text1, text2, label, phase, cos in zip(data.texts1, data.texts2, data.labels, data.phases, cosines):
            assert label == float(category[text1] == category[text2])
            if data is mined.train:
                assert band_contains(getattr(cfg.phases[phase], "positive" if label else "negative"), cos)
    assert len(mined.train) == 3 * 2 * 3 * 10 and not mined.summary["train"]["shortfalls"]
    assert mined.summary["eval"]["categories"] == {
        c: {"positive": 5, "negative": 5} for c in ("alpha", "beta", "gamma")
    }


@needs_faiss
def test_sparse_mining_is_reproducible_with_the_seed_whatever_the_threads():
    import faiss

    documents = mid_size_documents()
    first = mine_category_pairs(*documents, sparse_config())
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        second = mine_category_pairs(*documents, sparse_config())
    finally:
        faiss.omp_set_num_threads(threads)
    assert mined_rows(first) == mined_rows(second) and first.summary == second.summary
    assert mined_rows(mine_category_pairs(*documents, sparse_config(seed=1))) != mined_rows(first)


@needs_faiss
def test_neighbour_lists_fill_the_high_bands_the_random_pairs_leave_short():
    """With 2 random pairs scored per pair requested, random pairs fill no band; the neighbour lists fill the
    high-cosine ones (phase 3 negatives: cross-category cosine >= 0.15), not the lowest, phase 3 positives (< 0.15).
    Balanced eval pairs never take neighbour lists: they stay a uniform sample of all pairs."""
    mined = mine_category_pairs(*mid_size_documents(), sparse_config(draws_per_pair=2))
    summary = mined.summary["train"]
    assert summary["candidates"]["neighbour_pairs"] > 0 and "3 negative" in summary["candidates"]["neighbour_bands"]
    assert summary["phases"]["3"]["negative"]["pairs"] == 30 and summary["phases"]["1"]["positive"]["pairs"] == 30
    assert summary["shortfalls"] and {(s["phase"], s["label"]) for s in summary["shortfalls"]} == {("3", "positive")}
    assert mined.summary["eval"]["candidates"]["neighbour_pairs"] == 0
    text = format_summary(mined.summary)
    negatives = summary["phases"]["3"]["negative"]["available"]
    assert "from 20-nearest-neighbour lists (phase 1 negative" in text and f"~{negatives}" in text
    assert "~ marks estimated available counts" in text


@needs_faiss
def test_a_band_with_no_pair_on_the_sparse_path_says_where_it_looked():
    phases = {**SYNTHETIC_PHASES, "hard": {"positive": (0.0, 0.15), "negative": (0.97, 0.99)}}
    with pytest.raises(
        UserError,
        match=r"phase hard negative band \[0\.97, 0\.99\) holds no cross-category pair in "
        r"any category among \d+ random pairs and each document's 20 nearest neighbours",
    ):
        mine_category_pairs(*mid_size_documents(), sparse_config(phases=phases))


def test_without_faiss_the_sparse_path_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss now raises ImportError
    with pytest.raises(UserError, match="exact_max_documents need the neighbour index of faiss-cpu"):
        mine_category_pairs(*mid_size_documents(), sparse_config(draws_per_pair=2))


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"neighbours": 0}, "neighbours"),
        ({"exact_max_documents": -1}, "exact_max_documents"),
        ({"draws_per_pair": 0}, "draws_per_pair"),
    ],
)
def test_sparse_settings_are_validated(values, field):
    with pytest.raises(pydantic.ValidationError, match=field):
        MiningConfig(**values)
