"""Where a model's ticket categories top out, on the dev documents only (the test split stays untouched): kNN-5
accuracy at several encoding lengths, distance-weighted kNN, and a logistic regression on the same embeddings (how
much category information the embeddings hold at all, whatever the neighbour rule).

    python bench/tickets_ceiling.py --model sweeps/tickets-sweep/final/best/model --mined data/tickets-3way
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tickets_svm import _documents, svm_predictions


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder, run's model/ or 'default'")
    parser.add_argument("--mined", type=Path, required=True, help="an `embedtune mine --test-fraction` folder")
    parser.add_argument("--lengths", default="64,128,256", help="max_seq_length values, comma-separated")
    args = parser.parse_args()

    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.neighbors import KNeighborsClassifier

    from embedtune.modeling.load import load_model

    torch.set_num_threads(2)
    (train_texts, train_labels), (dev_texts, dev_labels) = _documents(args.mined, "eval")
    model = load_model(args.model)
    print(f"{args.model} on {len(dev_texts)} dev documents (index: {len(train_texts)} train documents)")
    print(f"TF-IDF + LinearSVC: {accuracy_score(dev_labels, svm_predictions(args.mined, 'eval')):.4f}")
    for length in (int(value) for value in args.lengths.split(",")):
        model.max_seq_length = length
        index = model.encode(train_texts, normalize_embeddings=True, batch_size=64)
        queries = model.encode(dev_texts, normalize_embeddings=True, batch_size=64)
        scores = {
            f"kNN-5 {weights}": KNeighborsClassifier(5, weights=weights, metric="cosine").fit(index, train_labels)
            for weights in ("uniform", "distance")
        }
        scores["logistic regression"] = LogisticRegression(C=10, max_iter=2000).fit(index, train_labels)
        accuracies = {name: accuracy_score(dev_labels, fit.predict(queries)) for name, fit in scores.items()}
        shown = ", ".join(f"{name} {value:.4f}" for name, value in accuracies.items())
        print(f"max_seq_length {length}: {shown}")


if __name__ == "__main__":
    main()
