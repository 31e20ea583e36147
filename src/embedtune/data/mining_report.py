"""What ``embedtune mine`` tells the user: the summary table, and warnings about mined data that will not train or
measure what it should (a phase of nearly one label, categories too small for the eval split, no eval positives).

Works on the summary dict alone (as :func:`embedtune.data.mining.mine_category_pairs` builds it and
``summary.json`` stores it), so a summary read back from disk formats the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: A phase whose pairs are at least this share one label is flagged: a loss on both labels learns that label there.
SKEWED_SHARE = 0.9
#: Documents a category needs on each side of the split: two make one same-category pair.
MIN_SPLIT_DOCUMENTS = 2
#: Warnings are printed under this line by :func:`format_summary`.
WARNINGS_TITLE = "warnings:"


# --- warnings ---------------------------------------------------------------------------------------------------


def diagnose(summary: dict) -> list[str]:
    """One line per problem, most basic first: document counts, then eval positives, then phase balance."""
    warnings = _small_categories(summary)
    warnings += _no_eval_positives(summary)
    splits = ("train", "eval") if summary.get("eval_pairs") == "banded" else ("train",)
    for split in splits:
        about = "about " if _estimated(summary[split]) else ""
        phases = summary[split]["phases"].items()
        warnings += [_skewed_phase(split, phase, by_label, about) for phase, by_label in phases]
    return [warning for warning in warnings if warning]


def _small_categories(summary: dict) -> list[str]:
    """Categories with fewer than two documents on a side of a split: no same-category pair there."""
    warnings = []
    for split in ("eval", "test") if "test" in summary else ("eval",):
        small = {
            c: counts
            for c, counts in summary["categories"].items()
            if min(counts["train_documents"], counts[f"{split}_documents"]) < MIN_SPLIT_DOCUMENTS
        }
        if not small:
            continue
        fraction = summary.get(f"{split}_fraction", 0.2)
        listed = ", ".join(
            f"{c} ({counts['train_documents']} train, {counts[f'{split}_documents']} {split})"
            for c, counts in small.items()
        )
        needed = math.ceil(MIN_SPLIT_DOCUMENTS / fraction)
        warnings.append(
            f"too few documents for the {split} split in {len(small)} categories: {listed}; a category needs "
            f"{MIN_SPLIT_DOCUMENTS} documents on each side for a same-category pair, about {needed} at {split} "
            f"fraction {fraction:g}: add documents to those categories, or raise --{split}-fraction"
        )
    return warnings


def _no_eval_positives(summary: dict) -> list[str]:
    warnings = []
    for split in ("eval", "test") if "test" in summary else ("eval",):
        missing = [c for c, counts in summary[split]["categories"].items() if counts["positive"] == 0]
        if missing:
            warnings.append(
                f"no {split} positives (same-category {split} pairs) for {', '.join(missing)}: the pairs {split} set "
                f"does not measure these categories; the kNN {split} set still does for each one with {split} "
                "documents"
            )
    return warnings


def _estimated(part: dict) -> bool:
    """Whether a split's ``available`` counts are estimates (mined from random pairs and neighbour lists)."""
    return part.get("candidates", {}).get("available") == "estimated"


def _skewed_phase(split: str, phase: str, by_label: dict, about: str = "") -> str | None:
    positives, negatives = by_label["positive"]["pairs"], by_label["negative"]["pairs"]
    total = positives + negatives
    if not total or max(positives, negatives) < SKEWED_SHARE * total:
        return None
    major, minor = ("positive", "negative") if positives >= negatives else ("negative", "positive")
    short = by_label[minor]
    band = format_band(short["band"])
    kind = "same-category" if minor == "positive" else "cross-category"
    held = f"holds {about}{short['available']} {kind} pairs in all" if "available" in short else "is nearly empty"
    consequence = (
        "a loss on both labels (cosine, cosent, contrastive) learns 'similar' from this phase; group_mnrl and mnrl "
        "(the starter config's loss) train on the positives only"
        if major == "positive"
        else "group_mnrl and mnrl train on the positives only, so this phase adds few steps"
    )
    return (
        f"{split} phase {phase}: {max(positives, negatives) / total:.1%} of its {total} pairs are {major}s (the "
        f"{minor} band {band} {held}); {consequence}. More documents fill the band"
    )


# --- the printed summary ----------------------------------------------------------------------------------------


def format_summary(summary: dict) -> str:
    """A short plain-text report: documents, pairs per phase and label with their cosines, category balance, and
    the warnings of :func:`diagnose` last, where they are seen."""
    lines = _document_lines(summary)
    for split in ("train", "eval"):
        lines += _split_lines(summary, split)
    lines += _category_lines(summary)
    if "hard_negatives" in summary:
        lines.append(_hard_negative_line(summary["hard_negatives"]))
    warnings = summary.get("warnings") or []
    if warnings:
        lines += ["", WARNINGS_TITLE, *(f"  - {warning}" for warning in warnings)]
    return "\n".join(lines)


def _document_lines(summary: dict) -> list[str]:
    docs, tfidf = summary["documents"], summary["tfidf"]
    return [
        f"documents: {docs['input']} in, {docs['duplicates_removed']} repeated texts and "
        f"{docs['conflicting_removed']} with conflicting categories removed -> train {docs['train']}, "
        f"eval {docs['eval']}",
        f"TF-IDF (fitted on train): {tfidf['terms']} terms, ngram_range {tuple(tfidf['ngram_range'])}, "
        f"min_df {tfidf['min_df']}, sublinear_tf {tfidf['sublinear_tf']}",
        "",
    ]


def _split_lines(summary: dict, split: str) -> list[str]:
    """The pair counts of one split and its table: wanted/available for mined bands, in-band counts for balanced
    eval pairs (which are drawn from anywhere and only labelled with the phase whose band is nearest)."""
    part = summary[split]
    balanced = split == "eval" and summary["eval_pairs"] == "balanced"
    how = "" if split == "train" else f" ({summary['eval_pairs']})"
    matched = "; negatives matched to positives per category" if balanced else ""
    lines = [
        f"{split} pairs{how}: {part['pairs']} ({part['positives']} positive, {part['negatives']} negative), "
        f"{part['duplicates_skipped']} duplicate draws skipped{matched}"
    ]
    if _estimated(part):
        lines.append(f"  {_candidate_line(part['candidates'], balanced)}")
    counts = f"{'in band':>9}" if balanced else f"{'wanted':>8}{'available':>11}"
    cosines = f"{'cos min':>9}{'mean':>8}{'max':>8}"
    lines.append(f"  {'phase':<6}{'label':<10}{'band':<14}{'pairs':>7}{counts}{'docs':>6}{cosines}")
    about = "~" if _estimated(part) else ""
    for phase, by_label in part["phases"].items():
        for name, s in by_label.items():
            available = f"{about}{s['available']}" if not balanced else ""
            counts = f"{s['inside_band']:>9}" if balanced else f"{s['requested']:>8}{available:>11}"
            lines.append(
                f"  {phase:<6}{name:<10}{format_band(s['band']):<14}{s['pairs']:>7}{counts}{s['documents']:>6}"
                f"{_cosines(s['cosine'])}"
            )
    if part["shortfalls"]:
        lines.append(f"  short bands: {_shortfalls(part['shortfalls'])}")
    lines.append("")
    return lines


def _candidate_line(candidates: dict, balanced: bool) -> str:
    """How a split too large to score every pair found its candidates; its ``available`` counts are estimates."""
    line = f"candidates: {candidates['random_pairs']} random pairs"
    if candidates.get("neighbours"):
        bands = ", ".join(f"phase {band}" for band in candidates["neighbour_bands"])
        line += f", {candidates['neighbour_pairs']} from {candidates['neighbours']}-nearest-neighbour lists ({bands})"
    return line if balanced else line + "; ~ marks estimated available counts"


def _shortfalls(shortfalls: list[dict], shown: int = 8) -> str:
    """``category phase P label mined/requested``; balanced eval pairs have no phase of their own (``any``)."""
    parts = []
    for s in shortfalls[:shown]:
        phase = f" phase {s['phase']}" if s["phase"] != "any" else ""
        parts.append(f"{s['category']}{phase} {s['label']} {s['mined']}/{s['requested']}")
    more = f" (+{len(shortfalls) - shown} more)" if len(shortfalls) > shown else ""
    return ", ".join(parts) + more


def _category_lines(summary: dict) -> list[str]:
    width = max([24, *(len(c) + 2 for c in summary["categories"])])
    lines = [
        f"  {'category':<{width}}{'train docs':>11}{'eval docs':>10}{'train +':>9}{'train -':>9}{'eval +':>8}"
        f"{'eval -':>8}"
    ]
    for c, counts in summary["categories"].items():
        train, held = summary["train"]["categories"][c], summary["eval"]["categories"][c]
        lines.append(
            f"  {c:<{width}}{counts['train_documents']:>11}{counts['eval_documents']:>10}"
            f"{train['positive']:>9}{train['negative']:>9}{held['positive']:>8}{held['negative']:>8}"
        )
    return lines


def _hard_negative_line(hard: dict) -> str:
    cos = hard["model_cosine"]
    return (
        f"phase {hard['phase']} negatives: the {hard['pairs']} TF-IDF pairs above were replaced by each anchor's "
        f"nearest wrong-category document under {hard.get('model') or 'the model'} "
        f"(model cosine min {cos['min']:.3f}, mean {cos['mean']:.3f}, max {cos['max']:.3f})"
    )


def format_band(band: Sequence[float]) -> str:
    """``[low, high)``, or ``[low, 1.00]`` for a band closed at 1 (see :func:`embedtune.data.mining.band_contains`)."""
    return f"[{band[0]:.2f}, {band[1]:.2f}" + ("]" if band[1] >= 1.0 else ")")


def _cosines(cos: dict) -> str:
    return "".join(
        f"{'-' if v is None else f'{v:.3f}':>{w}}" for v, w in ((cos["min"], 9), (cos["mean"], 8), (cos["max"], 8))
    )
