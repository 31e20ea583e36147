"""Mine labelled pairs from categorised documents, in three TF-IDF difficulty phases (a curriculum).

Same category = positive (label 1.0), different category = negative (label 0.0). The TF-IDF cosine of a pair says
how hard it is for a lexical model: phase 1 (easy) pairs positives that share many words with negatives that share
none; phase 3 (hard) pairs positives that share few words with negatives that share many. Documents are split into
train and eval (stratified by category) *before* pairing, and TF-IDF is fitted on the train documents only, so no
text and no vocabulary statistic of eval reaches the training pairs.

Eval pairs are, by default (``eval_pairs="balanced"``), uniformly random same/different-category pairs, because
that is the population a same-category ROC-AUC is meant to estimate: eval pairs picked from TF-IDF bands would be
unrepresentative (easy bands are lexically separable by construction and the hard bands are rare). Each category
gets as many negatives as positives (``eval_pairs_per_category`` at most): a category with few eval documents has
few positives, and its negatives are cut to match, so the labels stay balanced overall and per category. Each eval
pair still gets the phase whose band holds its cosine (the nearest band when none does) so results can be broken
down by difficulty. ``eval_pairs="banded"`` mines eval exactly like train.

Defaults were chosen on ``it_tickets/tickets.tsv`` (3,044 lower-cased, stop-word-free tickets, 8 categories).
With unigram TF-IDF fitted on the 2,435 train tickets, same-category cosines have median 0.01 and 95th percentile
0.22; cross-category cosines median 0.005 and 99th percentile 0.14. Every category still has at least 67
cross-category pairs in [0.30, 0.50) and 213 same-category pairs >= 0.35, so all six default bands can be filled
(60 per category). Word bigrams (``ngram_range=(1, 2)``) add ~40k mostly singleton features that dilute every
cosine: the hard-negative band then holds only ~140 pairs in all, and phase-1 positives run short for 3 of 8
categories, hence unigrams by default.

A split of up to ``exact_max_documents`` documents scores every pair (exact, quadratic time). A larger one samples
its bands from random pairs and, for the bands those leave short, from nearest-neighbour lists, in about linear time
(:mod:`embedtune.data.mining_candidates`); its ``available`` counts are then estimates (summary ``candidates``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from embedtune.data.mining_candidates import Candidates, all_pairs, sampled_pairs
from embedtune.data.mining_candidates import band_contains as band_contains  # re-exported: callers import it here
from embedtune.data.mining_report import diagnose, format_band
from embedtune.data.mining_report import format_summary as format_summary  # re-exported: callers import it here
from embedtune.data.mining_writers import write_mined as write_mined  # re-exported: callers import it here
from embedtune.data.pairs import PairData
from embedtune.data.spec import StrictModel
from embedtune.errors import UserError

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

logger = logging.getLogger(__name__)

LABELS = {"positive": 1.0, "negative": 0.0}


class PhaseBands(StrictModel):
    """TF-IDF cosine ranges ``[low, high)`` of one phase; a band whose ``high`` is 1.0 also includes 1.0."""

    positive: tuple[float, float] = Field(description="cosine range of same-category pairs")
    negative: tuple[float, float] = Field(description="cosine range of cross-category pairs")

    @field_validator("positive", "negative")
    @classmethod
    def _check_band(cls, band: tuple[float, float]) -> tuple[float, float]:
        low, high = band
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"a band must be [low, high) with 0 <= low < high <= 1, got {list(band)}")
        return band


def default_phases() -> dict[str, PhaseBands]:
    return {
        "1": PhaseBands(positive=(0.35, 1.0), negative=(0.0, 0.05)),  # easy: shared words <=> same category
        "2": PhaseBands(positive=(0.15, 0.35), negative=(0.10, 0.30)),  # medium: overlapping similarity
        "3": PhaseBands(positive=(0.0, 0.15), negative=(0.30, 0.50)),  # hard: different words / similar words
    }


class MiningConfig(StrictModel):
    """Everything that decides the mined pairs; the same config and documents always give the same pairs."""

    eval_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="share of documents held out (stratified)")
    test_fraction: float = Field(
        0.0, ge=0.0, lt=1.0, description="share of documents held out first as an untouched test split (0: none)"
    )
    seed: int = Field(0, description="seeds the split, the sampling and the row order")
    pairs_per_category: int = Field(60, ge=1, description="train positives and negatives per category per phase")
    eval_pairs: Literal["balanced", "banded"] = Field(
        "balanced",
        description="balanced: random same/different-category pairs (phase = band holding the cosine); "
        "banded: mined from eval documents like train",
    )
    eval_pairs_per_category: int = Field(
        40, ge=1, description="eval positives and negatives per category (banded: per phase as well)"
    )
    phases: dict[str, PhaseBands] = Field(default_factory=default_phases, description="bands by phase name")
    ngram_range: tuple[int, int] = Field((1, 1), description="TF-IDF word n-gram range")
    min_df: int | float = Field(1, description="TF-IDF: ignore terms in fewer documents (int) or a lower share")
    max_df: int | float = Field(1.0, description="TF-IDF: ignore terms in more documents (int) or a higher share")
    sublinear_tf: bool = Field(True, description="TF-IDF: 1 + log(tf) instead of raw counts")
    exact_max_documents: int = Field(
        10_000,
        ge=0,
        description="documents of a split up to which every pair is scored (exact, quadratic time); above it, bands "
        "are filled from random pairs and each document's nearest neighbours",
    )
    neighbours: int = Field(
        50, ge=1, description="above exact_max_documents: nearest neighbours listed per document (hard pairs)"
    )
    draws_per_pair: int = Field(
        500, ge=1, description="above exact_max_documents: random pairs scored per category, label and pair requested"
    )

    @field_validator("phases")
    @classmethod
    def _check_phases(cls, phases: dict[str, PhaseBands]) -> dict[str, PhaseBands]:
        if not phases:
            raise ValueError("phases must name at least one phase")
        for name in phases:
            if not name.strip() or name != name.strip() or any(c in name for c in "\t\r\n"):
                raise ValueError(f"phase names must be non-empty without surrounding or control whitespace: {name!r}")
        return phases

    @model_validator(mode="after")
    def _check_ngrams(self) -> MiningConfig:
        if self.eval_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"eval_fraction + test_fraction must stay below 1, got {self.eval_fraction + self.test_fraction:g}"
            )
        low, high = self.ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must be (low, high) with 1 <= low <= high, got {list(self.ngram_range)}")
        return self


@dataclass
class MinedPairs:
    """Train and eval pairs (phases and 0/1 labels set), the document split behind them, and what happened."""

    train: PairData
    eval: PairData
    train_documents: tuple[list[str], list[str]]
    eval_documents: tuple[list[str], list[str]]
    summary: dict = field(default_factory=dict)
    test: PairData | None = None  # with test_fraction: pairs of documents neither trained nor chosen on
    test_documents: tuple[list[str], list[str]] | None = None


def fit_tfidf(texts: Sequence[str], config: MiningConfig) -> TfidfVectorizer:
    """The TF-IDF model mining uses (l2-normalised rows, so a dot product is a cosine), fitted on ``texts``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        ngram_range=tuple(config.ngram_range),
        min_df=config.min_df,
        max_df=config.max_df,
        sublinear_tf=config.sublinear_tf,
        dtype=np.float64,
    )
    try:
        vectorizer.fit(list(texts))
    except ValueError as exc:  # empty vocabulary, or min_df/max_df pruning everything
        raise UserError(f"mining: cannot build TF-IDF from the train documents: {exc}") from None
    return vectorizer


def mine_category_pairs(
    texts: Sequence[str], labels: Sequence[object], config: MiningConfig | None = None
) -> MinedPairs:
    """Split documents (stratified), fit TF-IDF on train, and mine phase-banded train and eval pairs."""
    config = config or MiningConfig()
    texts, labels, document_summary = _unique_documents(texts, labels)
    rng = np.random.default_rng(config.seed)
    train_idx, eval_idx, test_idx = _three_splits(labels, config)
    train_docs = ([texts[i] for i in train_idx], [labels[i] for i in train_idx])
    eval_docs = ([texts[i] for i in eval_idx], [labels[i] for i in eval_idx])
    test_docs = ([texts[i] for i in test_idx], [labels[i] for i in test_idx])

    vectorizer = fit_tfidf(train_docs[0], config)
    categories = sorted(set(labels))
    x_train, x_eval = vectorizer.transform(train_docs[0]), vectorizer.transform(eval_docs[0])

    train_bands = {(phase, name): getattr(bands, name) for phase, bands in config.phases.items() for name in LABELS}
    train_rows, train_summary = _mine(
        "train", x_train, train_docs[1], categories, train_bands, config.pairs_per_category, rng, config, strict=True
    )
    eval_rows, eval_summary = _held_out("eval", x_eval, eval_docs[1], categories, train_bands, rng, config)
    test_rows, test_summary = [], None
    if test_idx:
        x_test = vectorizer.transform(test_docs[0])
        test_rows, test_summary = _held_out("test", x_test, test_docs[1], categories, train_bands, rng, config)

    summary = {
        "documents": {**document_summary, "train": len(train_idx), "eval": len(eval_idx), "test": len(test_idx)},
        "categories": {
            c: {
                "train_documents": train_docs[1].count(c),
                "eval_documents": eval_docs[1].count(c),
                "test_documents": test_docs[1].count(c),
            }
            for c in categories
        },
        "tfidf": {
            "fitted_on": "train documents",
            "terms": len(vectorizer.vocabulary_),
            "ngram_range": list(config.ngram_range),
            "min_df": config.min_df,
            "max_df": config.max_df,
            "sublinear_tf": config.sublinear_tf,
        },
        "bands": {p: {"positive": list(b.positive), "negative": list(b.negative)} for p, b in config.phases.items()},
        "eval_pairs": config.eval_pairs,
        "eval_fraction": config.eval_fraction,
        "test_fraction": config.test_fraction,
        "seed": config.seed,
        "train": train_summary,
        "eval": eval_summary,
        **({"test": test_summary} if test_summary is not None else {}),
    }
    summary["warnings"] = diagnose(summary)
    for warning in summary["warnings"]:
        logger.warning("mining: %s", warning)
    return MinedPairs(
        train=_pair_data("mined:train", train_docs, _ordered(train_rows, list(config.phases), rng)),
        eval=_pair_data("mined:eval", eval_docs, _ordered(eval_rows, list(config.phases), rng)),
        train_documents=train_docs,
        eval_documents=eval_docs,
        summary=summary,
        test=_pair_data("mined:test", test_docs, _ordered(test_rows, list(config.phases), rng)) if test_idx else None,
        test_documents=test_docs if test_idx else None,
    )


def _held_out(split, x, doc_labels, categories, train_bands, rng, config: MiningConfig) -> tuple[list[Row], dict]:
    """Eval (or test) pairs: banded like train, or balanced random same/different-category pairs."""
    count = config.eval_pairs_per_category
    if config.eval_pairs == "banded":
        return _mine(split, x, doc_labels, categories, train_bands, count, rng, config, strict=True)
    anywhere = {("any", name): (0.0, 1.0) for name in LABELS}
    rows, summary = _mine(split, x, doc_labels, categories, anywhere, count, rng, config, strict=False, balanced=True)
    rows = [(i, j, label, _nearest_phase(config, label, cos), cos) for i, j, label, _, cos in rows]
    summary["sampled"] = summary.pop("phases")["any"]
    summary["phases"] = _phase_stats(rows, config)
    return rows, summary


# --- documents and split ----------------------------------------------------------------------------------------


def _unique_documents(texts: Sequence[str], labels: Sequence[object]) -> tuple[list[str], list[str], dict]:
    """Stripped texts, each once: a repeated text would otherwise end up in both splits or paired with itself.

    ``duplicates_removed`` counts the extra copies of a text; a text given with two different categories is
    dropped entirely (every copy counts in ``conflicting_removed``), since neither label can be trusted.
    """
    if len(texts) != len(labels):
        raise UserError(f"mining: {len(texts)} texts but {len(labels)} labels")
    by_text: dict[str, set[str]] = {}
    rows_per_text: dict[str, int] = {}
    for position, (text, label) in enumerate(zip(texts, labels)):
        if not isinstance(text, str) or not text.strip():
            raise UserError(f"mining: document {position + 1} has an empty text")
        name = str(label).strip()
        if not name:
            raise UserError(f"mining: document {position + 1} has an empty category")
        by_text.setdefault(text.strip(), set()).add(name)
        rows_per_text[text.strip()] = rows_per_text.get(text.strip(), 0) + 1
    conflicting = [text for text, names in by_text.items() if len(names) > 1]
    conflicting_rows = sum(rows_per_text[text] for text in conflicting)
    if conflicting:
        logger.warning("mining: dropped %d documents whose text appears with different categories", conflicting_rows)
    kept = [(text, next(iter(names))) for text, names in by_text.items() if len(names) == 1]
    out_texts, out_labels = [t for t, _ in kept], [c for _, c in kept]
    if len(set(out_labels)) < 2:
        raise UserError(f"mining: need documents of at least 2 categories, got {len(set(out_labels))}")
    removed = len(texts) - len(kept) - conflicting_rows
    if removed:
        logger.info("mining: removed %d repeated document texts", removed)
    info = {"input": len(texts), "duplicates_removed": removed, "conflicting_removed": conflicting_rows}
    return out_texts, out_labels, info


def _three_splits(labels: list[str], config: MiningConfig) -> tuple[list[int], list[int], list[int]]:
    """Train, eval and test document indices. The test share is held out first (its own seed), then eval from the
    rest at the same share of all documents; without a test share the split is the two-way one as before."""
    if not config.test_fraction:
        return (*_split(labels, config.eval_fraction, config.seed), [])
    rest, test = _split(labels, config.test_fraction, config.seed + 1)
    train, held = _split([labels[i] for i in rest], config.eval_fraction / (1 - config.test_fraction), config.seed)
    return [rest[i] for i in train], [rest[i] for i in held], test


def _split(labels: list[str], eval_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Train and eval row indices, stratified by category when every category has two documents.

    Same rule as :func:`embedtune.evaluation.knn.split_documents`, kept here so mining does not import the model stack.
    """
    from sklearn.model_selection import train_test_split

    n = len(labels)
    n_eval = round(n * eval_fraction)
    if not 1 <= n_eval < n - 1:
        raise UserError(f"mining: eval_fraction {eval_fraction} of {n} documents leaves no eval or train documents")
    names, counts = np.unique(labels, return_counts=True)
    stratified = counts.min() >= 2 and len(names) <= min(n_eval, n - n_eval)
    if not stratified:
        logger.warning("mining: cannot stratify the split (a category has one document, or too few documents)")
    train, held = train_test_split(
        np.arange(n), test_size=n_eval, random_state=seed, stratify=labels if stratified else None
    )
    return sorted(train.tolist()), sorted(held.tolist())


# --- candidates and sampling ------------------------------------------------------------------------------------

Row = tuple[int, int, float, str, float]  # (doc i, doc j, label, phase, cosine)


def _mine(
    split: str,
    x: csr_matrix,
    doc_labels: list[str],
    categories: list[str],
    bands: dict[tuple[str, str], tuple[float, float]],
    count: int,
    rng: np.random.Generator,
    config: MiningConfig,
    strict: bool,
    balanced: bool = False,
) -> tuple[list[Row], dict]:
    """``count`` pairs per category for each (phase, label) band: positives i < j within the category, negatives
    from a category's documents (sentence1) to any other category's. Pairs already taken are skipped.

    ``balanced`` (the balanced eval pairs): a category gets no more negatives (in all) than the positives it got, so a
    category short of positives does not tilt the labels (bands are taken in order, so list every positive band
    first); and candidates never come from neighbour lists, since these pairs estimate the population of all pairs.
    """
    y = np.array(doc_labels)
    candidates = _candidates(x, y, categories, bands, count, rng, config, listed=not balanced)
    if strict:
        _check_bands_hold_pairs(split, candidates, bands, categories)
    rows_out, per_category, shortfalls, duplicates = _select(candidates, bands, categories, count, balanced)
    if shortfalls:
        logger.info("mining (%s): %d bands had fewer candidates than requested", split, len(shortfalls))
    extremes = candidates.extremes
    summary = {
        "pairs": len(rows_out),
        "positives": sum(1 for r in rows_out if r[2] == 1.0),
        "negatives": sum(1 for r in rows_out if r[2] == 0.0),
        "duplicates_skipped": duplicates,
        "phases": _band_stats(rows_out, bands, candidates.available, categories, count),
        "categories": per_category,
        "shortfalls": shortfalls,
        "cosine_range": {n: [_round(v) for v in e] if np.isfinite(e[0]) else None for n, e in extremes.items()},
        "candidates": candidates.info,
    }
    return rows_out, summary


def _candidates(
    x: csr_matrix,
    y: np.ndarray,
    categories: list[str],
    bands: dict[tuple[str, str], tuple[float, float]],
    count: int,
    rng: np.random.Generator,
    config: MiningConfig,
    listed: bool,
) -> Candidates:
    """Every pair scored up to ``exact_max_documents`` documents; random pairs and (``listed``) neighbour lists above
    it."""
    # Extra room for candidates skipped as duplicates (a negative can be drawn from either of its categories).
    spare = 2 * count + 16
    if x.shape[0] <= config.exact_max_documents:
        return all_pairs(x, y, categories, bands, spare, rng)
    draws = config.draws_per_pair * count
    neighbours = config.neighbours if listed else 0
    return sampled_pairs(x, y, categories, bands, spare, rng, draws, neighbours, config.seed)


def _check_bands_hold_pairs(split: str, candidates: Candidates, bands: dict, categories: list[str]) -> None:
    """A band with no candidate in any category is a config error (bands that do not fit the data), not a shortfall."""
    for key, band in bands.items():
        if any(candidates.pools[key, c].seen for c in categories):
            continue
        low, high = candidates.extremes[key[1]]
        observed = f"{low:.3f}..{high:.3f}" if np.isfinite(low) else "none"
        kind = "same-category" if key[1] == "positive" else "cross-category"
        info = candidates.info
        searched = (
            f" among {info['random_pairs']} random pairs and each document's {info['neighbours']} nearest neighbours"
            if "neighbours" in info
            else ""
        )
        raise UserError(
            f"mining ({split}): phase {key[0]} {key[1]} band {format_band(band)} holds no "
            f"{kind} pair in any category{searched} (observed {kind} TF-IDF cosines: {observed}); more documents may "
            "fill it, or mine from Python with wider MiningConfig.phases (embedtune mine uses the default bands)"
        )


def _select(
    candidates: Candidates, bands: dict, categories: list[str], count: int, match_positives: bool
) -> tuple[list[Row], dict, list[dict], int]:
    """Take each slot's candidates in their random order, skipping pairs already taken by an earlier slot."""
    taken: set[tuple[int, int]] = set()
    rows_out: list[Row] = []
    shortfalls, per_category = [], {c: {"positive": 0, "negative": 0} for c in categories}
    duplicates = 0
    for key in bands:
        phase, name = key
        for c in categories:
            got = 0
            wanted = count
            if match_positives and name == "negative":
                wanted = max(0, min(count, per_category[c]["positive"] - per_category[c]["negative"]))
            for i, j, cos in zip(*candidates.pools[key, c].ordered()):
                if got == wanted:
                    break
                pair = (int(min(i, j)), int(max(i, j)))
                if pair in taken:
                    duplicates += 1
                    continue
                taken.add(pair)
                rows_out.append((int(i), int(j), LABELS[name], phase, float(cos)))
                got += 1
            per_category[c][name] += got
            if got < wanted:
                shortfall = {"phase": phase, "label": name, "category": c, "requested": wanted}
                shortfalls.append({**shortfall, "available": candidates.available[key, c], "mined": got})
    return rows_out, per_category, shortfalls, duplicates


def _band_stats(rows: list[Row], bands: dict, available: dict, categories: list[str], count: int) -> dict:
    stats: dict[str, dict] = {}
    for (phase, name), band in bands.items():
        cos = np.array([r[4] for r in rows if r[3] == phase and r[2] == LABELS[name]])
        stats.setdefault(phase, {})[name] = {
            "band": list(band),
            "pairs": len(cos),
            "requested": count * len(categories),
            "available": sum(available[(phase, name), c] for c in categories),
            "documents": len({d for r in rows if r[3] == phase and r[2] == LABELS[name] for d in r[:2]}),
            "cosine": _cos_stats(cos),
        }
    return stats


def _phase_stats(rows: list[Row], config: MiningConfig) -> dict:
    """Counts and cosines of (balanced) eval pairs grouped by the phase assigned to each."""
    stats: dict[str, dict] = {}
    for phase, bands in config.phases.items():
        for name in LABELS:
            cos = np.array([r[4] for r in rows if r[3] == phase and r[2] == LABELS[name]])
            stats.setdefault(phase, {})[name] = {
                "band": list(getattr(bands, name)),
                "pairs": len(cos),
                "documents": len({d for r in rows if r[3] == phase and r[2] == LABELS[name] for d in r[:2]}),
                "inside_band": int(np.sum(band_contains(getattr(bands, name), cos))) if len(cos) else 0,
                "cosine": _cos_stats(cos),
            }
    return stats


def _nearest_phase(config: MiningConfig, label: float, cos: float) -> str:
    """The phase whose band (for this label) holds ``cos``, else the one whose band is nearest; ties: first phase."""
    name = "positive" if label == 1.0 else "negative"
    best, best_distance = "", np.inf
    for phase, bands in config.phases.items():
        low, high = getattr(bands, name)
        distance = 0.0 if band_contains((low, high), cos) else (low - cos if cos < low else cos - high)
        if distance < best_distance:
            best, best_distance = phase, distance
    return best


def _cos_stats(cos: np.ndarray) -> dict:
    if len(cos) == 0:
        return {"min": None, "mean": None, "max": None}
    return {"min": _round(cos.min()), "mean": _round(cos.mean()), "max": _round(cos.max())}


def _round(value: float) -> float:
    return round(float(value), 4)


def _ordered(rows: list[Row], phases: list[str], rng: np.random.Generator) -> list[Row]:
    """Rows grouped by phase in curriculum order, shuffled within a phase so labels and categories interleave."""
    out: list[Row] = []
    for phase in phases:
        group = [r for r in rows if r[3] == phase]
        out.extend(group[k] for k in rng.permutation(len(group)))
    return out


def _pair_data(source: str, documents: tuple[list[str], list[str]], rows: list[Row]) -> PairData:
    texts, categories = documents
    return PairData(
        source=source,
        texts1=[texts[r[0]] for r in rows],
        texts2=[texts[r[1]] for r in rows],
        labels=[r[2] for r in rows],
        phases=[r[3] for r in rows],
        groups=[categories[r[0]] for r in rows],
        lines=list(range(1, len(rows) + 1)),
    )
