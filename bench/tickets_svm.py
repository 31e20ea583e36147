"""The classical baseline of the ticket split: TF-IDF (1-2 grams) + LinearSVC trained on the same training documents,
and a paired bootstrap of a model's kNN-5 accuracy against it on the same held-out documents (imported by the ticket
bench scripts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MINED = ROOT / "data" / "tickets-mined"


def _documents(mined: Path = MINED, held_out: str = "eval"):
    """Training documents and the held-out ones (``eval``, or ``test`` of a ``mine --test-fraction`` split)."""
    from embedtune.data.documents import load_documents

    return load_documents(mined / "train_documents.tsv"), load_documents(mined / f"{held_out}_documents.tsv")


def svm_predictions(mined: Path = MINED, held_out: str = "eval") -> list[str]:
    """The SVM's category for every held-out document, in file order."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    (train_texts, train_labels), (eval_texts, _) = _documents(mined, held_out)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    classifier = LinearSVC(C=1.0).fit(vectorizer.fit_transform(train_texts), train_labels)
    return list(classifier.predict(vectorizer.transform(eval_texts)))


def svm_accuracy() -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    _, (_, eval_labels) = _documents()
    predicted = svm_predictions()
    return accuracy_score(eval_labels, predicted), f1_score(eval_labels, predicted, average="macro")


def knn_against_svm(model, k: int = 5, mined: Path = MINED, held_out: str = "eval") -> dict:
    """kNN-k of ``model`` (index: the training documents) minus the SVM, per metric, paired over held-out documents."""
    from embedtune.evaluation.bootstrap import paired_bootstrap
    from embedtune.evaluation.knn import KNNEvaluator

    (train_texts, train_labels), (eval_texts, eval_labels) = _documents(mined, held_out)
    evaluator = KNNEvaluator(train_texts, train_labels, eval_texts, eval_labels, name="tickets_knn", k=k)
    knn = evaluator.item_scores(model)
    class_id = {label: i for i, label in enumerate(evaluator.classes)}
    predicted = svm_predictions(mined, held_out)
    svm = {"predicted": np.array([class_id[label] for label in predicted]), "true": knn["true"]}
    return paired_bootstrap(evaluator, svm, knn, n_resamples=2000)


def knn_against_svm_line(model, mined: Path = MINED, held_out: str = "eval") -> str:
    """A markdown table row: kNN-5 accuracy of the model vs the SVM, with the paired 95% interval of the difference."""
    from embedtune.evaluation.interval import Interval

    stat = knn_against_svm(model, mined=mined, held_out=held_out)["accuracy"]
    star = " *" if stat["excludes_zero"] else ""
    found = Interval.of(stat)
    interval = f" {found.format(digits=3)}" if found else ""
    return (
        f"| tickets kNN-5 vs TF-IDF + LinearSVC (same held-out documents) | accuracy | SVM {stat['baseline']:.4f} | "
        f"kNN {stat['final']:.4f} | {stat['delta']:+.4f}{interval}{star} |"
    )


def main() -> None:
    """For a finished run: ``python bench/tickets_svm.py --run bench/out/NAME [--append bench/results/NAME.md]``
    (``--mined data/tickets-3way --held-out test``: the test documents of a three-way split)."""
    import argparse
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--append", type=Path, help="add the row to this results table")
    parser.add_argument("--mined", type=Path, default=MINED, help="the `embedtune mine` folder of the run")
    parser.add_argument("--held-out", choices=["eval", "test"], default="eval", help="which held-out documents")
    args = parser.parse_args()

    import yaml

    from embedtune.modeling.load import load_model

    length = yaml.safe_load((args.run / "config.yaml").read_text(encoding="utf-8"))["model"]["max_seq_length"]
    line = knn_against_svm_line(load_model(str(args.run / "model"), length), args.mined, args.held_out)
    if args.append is not None:
        with args.append.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
