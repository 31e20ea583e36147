from __future__ import annotations

import numpy as np
import pytest
from fake_encoder import pairs_at

from embedtune.data.pairs import PairData
from embedtune.errors import UserError
from embedtune.evaluation.adversarial import AdversarialEvaluator
from embedtune.evaluation.metrics import cv_threshold_metrics

KEYS = {"roc_auc", "average_precision", "f1", "accuracy", "precision", "recall", "threshold", "passed"}
SEPARATED = [0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05]
LABELS = [1] * 6 + [0] * 6


def evaluate(cosines: list[float], labels: list[int], **kwargs) -> dict[str, float]:
    model, t1, t2 = pairs_at(cosines)
    return AdversarialEvaluator(t1, t2, labels, name="adv", folds=3, **kwargs)(model)


def test_separated_pairs_pass():
    metrics = evaluate(SEPARATED, LABELS)
    assert set(metrics) == {f"adv_{key}" for key in KEYS}
    assert metrics["adv_roc_auc"] == 1.0 and metrics["adv_f1"] == 1.0 and metrics["adv_passed"] == 1.0


def test_reversed_pairs_fail():
    metrics = evaluate(SEPARATED, LABELS[::-1])
    assert metrics["adv_roc_auc"] == 0.0 and metrics["adv_passed"] == 0.0


def test_each_bar_can_fail_on_its_own():
    # AUC 31/36 = 0.861 (0.5 loses to 0.55, 0.2 to four negatives); the cross-validated F1 misses a strict bar.
    cosines = [0.9, 0.8, 0.7, 0.6, 0.5, 0.2, 0.55, 0.4, 0.35, 0.3, 0.1, 0.05]
    loose = evaluate(cosines, LABELS, min_roc_auc=0.85, min_f1=0.5)
    assert loose["adv_roc_auc"] == pytest.approx(31 / 36) and loose["adv_passed"] == 1.0
    assert loose["adv_f1"] < 0.99
    assert evaluate(cosines, LABELS, min_roc_auc=0.85, min_f1=0.99)["adv_passed"] == 0.0
    assert evaluate(cosines, LABELS, min_roc_auc=0.9, min_f1=0.5)["adv_passed"] == 0.0


def test_metrics_are_the_cross_validated_ones():
    rng = np.random.default_rng(0)
    cosines = list(rng.uniform(-0.9, 0.9, size=30))
    labels = [int(c + rng.normal(0, 0.4) > 0) for c in cosines]
    model, t1, t2 = pairs_at(cosines)
    metrics = AdversarialEvaluator(t1, t2, labels, name="", folds=4, seed=3)(model)
    expected = cv_threshold_metrics(np.array(cosines), np.array(labels), folds=4, seed=3)
    assert {key: metrics[key] for key in expected} == pytest.approx(expected, abs=1e-6)


def test_is_not_bootstrappable_and_has_roc_auc_primary():
    model, t1, t2 = pairs_at(SEPARATED)
    evaluator = AdversarialEvaluator(t1, t2, LABELS, name="adv")
    assert not evaluator.bootstrappable and evaluator.primary_metric == "adv_roc_auc"
    assert evaluator.get_config_dict()["min_f1"] == 0.70
    with pytest.raises(NotImplementedError):
        evaluator.item_scores(model)


@pytest.mark.parametrize(
    ("labels", "folds", "message"),
    [(LABELS[:-1] + [2], 3, "labels 0 or 1"), ([1] * 2 + [0] * 10, 3, "at least 3 positive"), (LABELS, 1, "2 folds")],
)
def test_unusable_sets_raise_user_error(labels, folds, message):
    _, t1, t2 = pairs_at(SEPARATED)
    with pytest.raises(UserError, match=f"hard.tsv: .*{message}"):
        AdversarialEvaluator(t1, t2, labels, folds=folds, source="hard.tsv")


def test_from_pairs_needs_labels():
    with pytest.raises(UserError, match="hard.tsv: an adversarial set needs a 0/1 label"):
        AdversarialEvaluator.from_pairs(PairData(source="hard.tsv", texts1=["a"], texts2=["b"]))


def test_on_tiny_model(tiny_model):
    t1 = ["the cat is on the mat", "he is not happy", "the dog bit the man", "she went home", "i love it", "go left"]
    t2 = ["a cat sits on a mat", "he is happy", "the man bit the dog", "she went back home", "i hate it", "turn left"]
    data = PairData(source="hard.tsv", texts1=t1 * 2, texts2=t2 * 2, labels=[1.0, 0, 0, 1, 0, 1] * 2)
    metrics = AdversarialEvaluator.from_pairs(data, folds=2)(tiny_model)
    assert set(metrics) == {f"adversarial_{key}" for key in KEYS}
    assert metrics["adversarial_passed"] in (0.0, 1.0) and 0 <= metrics["adversarial_roc_auc"] <= 1
