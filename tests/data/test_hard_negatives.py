"""Hard-negative mining: the false-negative guard (for either sign of the positive score), partner exclusion,
rank window, determinism, and an end-to-end run on the tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fake_encoder import FakeEncoder, at_angle
from helpers import TOPICS

from embedtune.data.hard_negatives import format_mining_stats, mine_hard_negatives_for_pairs, ratio_bound
from embedtune.data.pairs import PairData
from embedtune.errors import UserError


def pairs(rows: list[tuple[str, str]], lines: list[int] | None = None, phases=None) -> PairData:
    return PairData(
        source="train.tsv",
        texts1=[a for a, _ in rows],
        texts2=[b for _, b in rows],
        phases=phases,
        lines=lines if lines is not None else [i + 2 for i in range(len(rows))],
    )


def one_anchor(positive: float, candidates: dict[str, float]) -> tuple[FakeEncoder, PairData, list[str]]:
    """Anchor 'q' with positive 'p' at cosine ``positive`` and corpus texts at the given cosines with 'q'."""
    vectors = {"q": [1.0, 0.0], "p": at_angle(positive), **{t: at_angle(c) for t, c in candidates.items()}}
    return FakeEncoder(vectors), pairs([("q", "p")]), list(candidates)


def test_absolute_margin_drops_candidates_near_or_above_the_positive():
    model, data, corpus = one_anchor(0.8, {"c1": 0.9, "c2": 0.78, "c3": 0.7, "c4": 0.5})
    triplets, stats = mine_hard_negatives_for_pairs(model, data, margin=0.05, corpus=corpus)
    assert triplets.negatives == ["c3"]
    assert (triplets.texts1, triplets.texts2, triplets.lines) == (["q"], ["p"], [2])
    assert triplets.kind == "triplets"
    assert stats["candidates_considered"] == 4
    assert stats["dropped_by_margin"] == 2 and stats["dropped_by_guard"] == 2
    assert stats["negative_score"]["max"] == pytest.approx(0.7, abs=1e-6)
    assert stats["positive_score"]["mean"] == pytest.approx(0.8, abs=1e-6)


def test_without_a_guard_the_hardest_candidate_wins():
    model, data, corpus = one_anchor(0.8, {"c1": 0.9, "c2": 0.78, "c3": 0.7})
    triplets, stats = mine_hard_negatives_for_pairs(model, data, margin=None, corpus=corpus, num_negatives=2)
    assert triplets.negatives == ["c1", "c2"]
    assert stats["dropped_by_guard"] == 0


def test_ratio_guard_for_a_positive_score_is_the_plain_product():
    model, data, corpus = one_anchor(0.8, {"c1": 0.9, "c2": 0.75, "c3": 0.7})
    assert ratio_bound(0.8, 0.9) == pytest.approx(0.72)
    triplets, stats = mine_hard_negatives_for_pairs(model, data, margin=None, max_score_ratio=0.9, corpus=corpus)
    assert triplets.negatives == ["c3"]
    assert stats["dropped_by_ratio"] == 2 and stats["dropped_by_margin"] == 0


def test_ratio_guard_stays_below_a_negative_positive_score():
    # positive -0.2: the naive bound -0.2 * 0.9 = -0.18 lies ABOVE the positive and would let n1..n3 through,
    # although n1 (-0.15) even scores higher than the positive. The guard must use -0.2 - 0.2 * 0.1 = -0.22.
    model, data, corpus = one_anchor(-0.2, {"n1": -0.15, "n2": -0.195, "n3": -0.21, "n4": -0.3})
    assert ratio_bound(-0.2, 0.9) == pytest.approx(-0.22)
    assert ratio_bound(-0.2, 0.9) < -0.2 < -0.2 * 0.9
    triplets, stats = mine_hard_negatives_for_pairs(
        model, data, num_negatives=2, margin=None, max_score_ratio=0.9, corpus=corpus
    )
    assert triplets.negatives == ["n4"]
    assert stats["dropped_by_ratio"] == 3
    assert stats["anchors_with_fewer_negatives"] == 1 and stats["anchors_without_negatives"] == 0
    assert stats["negative_score"]["max"] < -0.2


def test_absolute_margin_with_a_negative_positive_score():
    model, data, corpus = one_anchor(-0.2, {"n1": -0.15, "n2": -0.22, "n3": -0.3})
    triplets, stats = mine_hard_negatives_for_pairs(model, data, num_negatives=1, margin=0.05, corpus=corpus)
    assert triplets.negatives == ["n3"]
    assert stats["dropped_by_margin"] == 2


def test_both_rules_count_each_drop_once():
    model, data, corpus = one_anchor(0.8, {"c1": 0.9, "c2": 0.74, "c3": 0.6})
    _, stats = mine_hard_negatives_for_pairs(model, data, margin=0.05, max_score_ratio=0.9, corpus=corpus)
    # c1 (0.9) fails the margin (> 0.75); c2 (0.74) passes it but fails the ratio (> 0.72); c3 passes both.
    assert (stats["dropped_by_margin"], stats["dropped_by_ratio"], stats["dropped_by_guard"]) == (1, 1, 2)


def test_guard_uses_the_hardest_positive_of_an_anchor():
    vectors = {"q": [1.0, 0.0], "p1": at_angle(0.9), "p2": at_angle(0.6), "c": at_angle(0.7), "d": at_angle(0.3)}
    data = pairs([("q", "p1"), ("q", "p2")])
    triplets, _ = mine_hard_negatives_for_pairs(FakeEncoder(vectors), data, margin=0.0, corpus=["c", "d", "p1"])
    # c (0.7) beats the weaker positive p2 (0.6): a likely false negative, so d is chosen; p1 is never a candidate.
    assert triplets.negatives == ["d", "d"]
    assert triplets.texts2 == ["p1", "p2"]


def test_partners_in_either_direction_and_the_anchor_itself_are_never_negatives():
    vectors = {"q": [1.0, 0.0], "p": at_angle(0.9), "x": at_angle(0.1), "y": at_angle(0.2)}
    data = pairs([("q", "p"), ("p", "q"), ("x", "y"), ("q", "q")])
    triplets, stats = mine_hard_negatives_for_pairs(FakeEncoder(vectors), data, num_negatives=1, margin=None)
    by_row = {(a, b): n for a, b, n in zip(triplets.texts1, triplets.texts2, triplets.negatives)}
    assert by_row[("q", "p")] == "y" and by_row[("q", "q")] == "y"
    assert by_row[("p", "q")] == "y"
    assert by_row[("x", "y")] in {"p", "q"}
    for a, b, n in zip(triplets.texts1, triplets.texts2, triplets.negatives):
        assert n not in (a, b)
    assert stats["anchors_without_negatives"] == 0


def test_anchors_without_negatives_are_counted_and_left_out():
    vectors = {"q": [1.0, 0.0], "p": at_angle(0.5), "r": [0.0, 1.0], "s": at_angle(0.4), "c": at_angle(0.9)}
    data = pairs([("q", "p"), ("r", "s"), ("q", "p")], lines=[4, 7, 9], phases=["a", "b", "c"])
    triplets, stats = mine_hard_negatives_for_pairs(FakeEncoder(vectors), data, margin=0.05, corpus=["c"])
    # c scores 0.9 with q (above its positive 0.5) but ~0.44 with r (positive s: 0.92 with r), so only r gets it.
    assert triplets.texts1 == ["r"] and triplets.negatives == ["c"]
    assert triplets.lines == [7] and triplets.phases == ["b"]
    assert stats["anchors_without_negatives"] == 1
    assert stats["pairs_without_negatives"] == 2 and stats["lines_without_negatives"] == [4, 9]
    assert stats["triplets"] == 1
    assert "got no negative" in format_mining_stats(stats)


def test_rank_window_skips_the_top_ranks_before_the_guard():
    model, data, corpus = one_anchor(0.95, {"c1": 0.9, "c2": 0.8, "c3": 0.7, "c4": 0.6})
    triplets, stats = mine_hard_negatives_for_pairs(
        model, data, num_negatives=2, range_min=1, range_max=3, margin=None, corpus=corpus
    )
    assert triplets.negatives == ["c2", "c3"]
    assert stats["candidates_considered"] == 2


def random_pairs(n: int = 30, dim: int = 8, seed: int = 1) -> tuple[FakeEncoder, PairData]:
    rng = np.random.default_rng(seed)
    texts = [f"t{i}" for i in range(2 * n)]
    vectors = {t: rng.normal(size=dim) for t in texts}
    return FakeEncoder(vectors), pairs([(texts[i], texts[n + i]) for i in range(n)])


def test_random_sampling_is_deterministic_for_a_seed():
    model, data = random_pairs()
    kwargs = dict(num_negatives=3, range_max=15, margin=None, sampling="random")
    first, stats1 = mine_hard_negatives_for_pairs(model, data, seed=7, **kwargs)
    again, stats2 = mine_hard_negatives_for_pairs(model, data, seed=7, **kwargs)
    assert first.negatives == again.negatives and stats1 == stats2
    others = [mine_hard_negatives_for_pairs(model, data, seed=s, **kwargs)[0].negatives for s in (1, 2, 3)]
    assert any(negatives != first.negatives for negatives in others)
    top, _ = mine_hard_negatives_for_pairs(model, data, num_negatives=3, range_max=15, margin=None)
    assert top.negatives != first.negatives
    assert len(first) == len(top) == 3 * len(data)


def test_statistics_are_json_serialisable():
    model, data = random_pairs()
    _, stats = mine_hard_negatives_for_pairs(model, data, num_negatives=2, margin=0.05, max_score_ratio=0.95)
    assert json.loads(json.dumps(stats)) == stats
    text = format_mining_stats(stats)
    assert "Positive" in text and "margin of 0.05" in text and "max_score_ratio of 0.95" in text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_negatives": 0},
        {"range_min": 5, "range_max": 5},
        {"num_negatives": 4, "range_min": 0, "range_max": 3},
        {"margin": -0.1},
        {"max_score_ratio": 1.5},
        {"max_score_ratio": 0.0},
        {"sampling": "best"},
        {"corpus": []},
    ],
)
def test_bad_settings_are_user_errors(kwargs):
    model, data = random_pairs(n=4)
    with pytest.raises(UserError):
        mine_hard_negatives_for_pairs(model, data, **kwargs)


def test_scored_or_triplet_files_are_rejected():
    model, data = random_pairs(n=4)
    scored = PairData(source="s.tsv", texts1=data.texts1, texts2=data.texts2, labels=[1.0] * 4)
    triplets = PairData(source="t.tsv", texts1=data.texts1, texts2=data.texts2, negatives=data.texts2[::-1])
    for bad in (scored, triplets):
        with pytest.raises(UserError, match="anchor, positive"):
            mine_hard_negatives_for_pairs(model, bad)


def test_tiny_model_end_to_end(tiny_model):
    rows = [(texts[i], texts[i + 1]) for texts in TOPICS.values() for i in range(0, len(texts) - 1, 2)]
    data = pairs(rows)
    triplets, stats = mine_hard_negatives_for_pairs(tiny_model, data, num_negatives=2, range_max=10, margin=0.0)
    again, _ = mine_hard_negatives_for_pairs(tiny_model, data, num_negatives=2, range_max=10, margin=0.0)
    assert triplets.negatives == again.negatives
    assert stats["pairs"] == len(rows) and stats["corpus_size"] == len(rows)
    assert 0 < stats["triplets"] == len(triplets) <= 2 * len(rows)
    for a, p, n in zip(triplets.texts1, triplets.texts2, triplets.negatives):
        assert n not in (a, p)
    assert stats["negative_score"]["count"] == len(triplets)
    assert stats["difference"]["min"] is None or stats["difference"]["min"] >= 0.0 - 1e-6
    assert triplets.to_dataset().column_names == ["anchor", "positive", "negative"]
