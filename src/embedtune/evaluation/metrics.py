"""Pure metric maths on numpy arrays, so a bootstrap can call them on resampled items.

Every function takes per-pair cosines and per-pair gold values in the same order. Classification labels are 0/1; a
pair is predicted positive when its cosine is ``>= threshold``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn import metrics as skm
from sklearn.model_selection import StratifiedKFold


def pair_cosines(emb1: np.ndarray, emb2: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two equally shaped embedding matrices (rows need not be unit length)."""
    emb1, emb2 = np.asarray(emb1, dtype=np.float64), np.asarray(emb2, dtype=np.float64)
    if emb1.shape != emb2.shape:
        raise ValueError(f"embedding shapes differ: {emb1.shape} vs {emb2.shape}")
    norms = np.linalg.norm(emb1, axis=1) * np.linalg.norm(emb2, axis=1)
    return np.clip(np.einsum("ij,ij->i", emb1, emb2) / np.maximum(norms, 1e-12), -1.0, 1.0)


def sts_metrics(cosines: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Spearman and Pearson correlation between cosines and gold similarity scores (NaN if either is constant)."""
    cosines, scores = np.asarray(cosines, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    if len(cosines) != len(scores):
        raise ValueError(f"{len(cosines)} cosines but {len(scores)} scores")
    if len(cosines) < 2 or np.ptp(cosines) == 0 or np.ptp(scores) == 0:
        return {"spearman": float("nan"), "pearson": float("nan")}
    return {
        "spearman": float(stats.spearmanr(cosines, scores).statistic),
        "pearson": float(stats.pearsonr(cosines, scores).statistic),
    }


def binary_labels(labels: np.ndarray) -> np.ndarray:
    """``labels`` as a bool array; ValueError unless every value is 0 or 1."""
    values = np.asarray(labels, dtype=np.float64)
    if not np.all((values == 0) | (values == 1)):
        raise ValueError("labels must all be 0 or 1")
    return values == 1


def threshold_free_metrics(cosines: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """ROC-AUC and average precision of ranking by cosine (NaN when only one class is present)."""
    labels = binary_labels(labels)
    if labels.all() or not labels.any():
        return {"roc_auc": float("nan"), "average_precision": float("nan")}
    return {
        "roc_auc": float(skm.roc_auc_score(labels, cosines)),
        "average_precision": float(skm.average_precision_score(labels, cosines)),
    }


def prediction_metrics(predicted: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """F1, accuracy, precision and recall of 0/1 predictions (0 where undefined, e.g. no predicted positives)."""
    labels, predicted = binary_labels(labels), np.asarray(predicted, dtype=bool)
    return {
        "f1": float(skm.f1_score(labels, predicted, zero_division=0)),
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "precision": float(skm.precision_score(labels, predicted, zero_division=0)),
        "recall": float(skm.recall_score(labels, predicted, zero_division=0)),
    }


def pair_classification_metrics(cosines: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """ROC-AUC, average precision, and F1/accuracy/precision/recall at ``threshold`` (cosine >= threshold: 1)."""
    cosines = np.asarray(cosines, dtype=np.float64)
    if len(cosines) != len(labels):
        raise ValueError(f"{len(cosines)} cosines but {len(labels)} labels")
    return {**threshold_free_metrics(cosines, labels), **prediction_metrics(cosines >= threshold, labels)}


def best_f1_threshold(cosines: np.ndarray, labels: np.ndarray) -> float:
    """The threshold maximising F1 on these items.

    Candidates are the smallest cosine (everything positive) and the midpoints of consecutive sorted unique cosines.
    Ties go to the lowest threshold.
    """
    cosines, labels = np.asarray(cosines, dtype=np.float64), binary_labels(labels)
    if len(cosines) == 0 or len(cosines) != len(labels):
        raise ValueError(f"need equally many cosines and labels, at least one: got {len(cosines)} and {len(labels)}")
    values, index = np.unique(cosines, return_inverse=True)
    positives = np.bincount(index, weights=labels, minlength=len(values))
    totals = np.bincount(index, minlength=len(values))
    # Candidate k predicts positive every item whose unique-value index is >= k.
    true_pos = np.cumsum(positives[::-1])[::-1]
    predicted_pos = np.cumsum(totals[::-1])[::-1]
    f1 = 2 * true_pos / (predicted_pos + labels.sum())
    candidates = np.concatenate([values[:1], (values[:-1] + values[1:]) / 2])
    return float(candidates[int(np.argmax(f1))])


def cv_threshold_metrics(cosines: np.ndarray, labels: np.ndarray, folds: int = 5, seed: int = 0) -> dict[str, float]:
    """Threshold metrics without tuning on the items scored.

    Stratified k-fold: each fold is predicted with the threshold that maximises F1 on the other folds; F1, accuracy,
    precision and recall are computed on the pooled out-of-fold predictions. ROC-AUC and average precision use all
    items (they need no threshold). ``threshold`` is the one chosen on all items, reported for information only.
    """
    cosines, labels = np.asarray(cosines, dtype=np.float64), binary_labels(labels)
    if len(cosines) != len(labels):
        raise ValueError(f"{len(cosines)} cosines but {len(labels)} labels")
    predicted = np.zeros(len(cosines), dtype=bool)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(cosines.reshape(-1, 1), labels):
        predicted[test] = cosines[test] >= best_f1_threshold(cosines[train], labels[train])
    return {
        **threshold_free_metrics(cosines, labels),
        **prediction_metrics(predicted, labels),
        "threshold": best_f1_threshold(cosines, labels),
    }
