"""Would a loss that reads the category labels themselves get the tickets' kNN-5 much higher? Dev documents only (the
test split stays untouched), no forgetting guard (an upper bound, not a recipe): sentence-transformers' batch triplet
losses on (text, category) rows of the training documents, cosine distance, batches grouped by label; dev kNN-5 after
each epoch.

    python bench/tickets_label_loss.py --model default --loss semihard --epochs 4 --lr 5e-5
    python bench/tickets_label_loss.py --model sweeps/tickets-sweep/final/best/model --epochs 4 --lr 3e-5
    python bench/tickets_label_loss.py --model MPNET_FOLDER --epochs 3 --lr 2e-5   # ../shared/tools/get-teacher-mpnet
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from tickets_svm import _documents


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder, run's model/ or 'default'")
    parser.add_argument("--mined", type=Path, default=Path("data/tickets-3way"), help="a mine --test-fraction dir")
    parser.add_argument("--loss", choices=("semihard", "hard", "all"), default="semihard")
    parser.add_argument("--margin", type=float, default=0.2, help="in cosine distance")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-5)
    args = parser.parse_args()

    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments, losses
    from sentence_transformers.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses.batch_hard_triplet import (
        BatchHardTripletLossDistanceFunction,
    )
    from sklearn.metrics import accuracy_score
    from sklearn.neighbors import KNeighborsClassifier
    from transformers import TrainerCallback

    from embedtune.modeling.load import load_model

    torch.set_num_threads(2)
    (train_texts, train_labels), (dev_texts, dev_labels) = _documents(args.mined, "eval")
    model = load_model(args.model)
    model.max_seq_length = 64  # as the recipe trains

    def dev_knn() -> float:
        index = model.encode(train_texts, normalize_embeddings=True, batch_size=64)
        queries = model.encode(dev_texts, normalize_embeddings=True, batch_size=64)
        knn = KNeighborsClassifier(5, metric="cosine").fit(index, train_labels)
        return accuracy_score(dev_labels, knn.predict(queries))

    class EpochEnd(TrainerCallback):
        def on_epoch_end(self, _args, state, control, **kwargs):
            model.eval()
            print(f"epoch {state.epoch:.0f}: dev kNN-5 {dev_knn():.4f} ({time.time() - start:.0f} s)", flush=True)
            model.train()

    print(f"{args.model}, {args.loss} margin {args.margin}, lr {args.lr}: dev kNN-5 before {dev_knn():.4f}")
    classes = {name: number for number, name in enumerate(sorted(set(train_labels)))}
    rows = Dataset.from_dict({"text": train_texts, "label": [classes[label] for label in train_labels]})
    loss_class = {
        "semihard": losses.BatchSemiHardTripletLoss,
        "hard": losses.BatchHardTripletLoss,
        "all": losses.BatchAllTripletLoss,
    }[args.loss]
    loss = loss_class(model, distance_metric=BatchHardTripletLossDistanceFunction.cosine_distance, margin=args.margin)
    with tempfile.TemporaryDirectory() as scratch:
        settings = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            num_train_epochs=args.epochs,
            per_device_train_batch_size=64,
            learning_rate=args.lr,
            warmup_steps=0.1,  # transformers 5: a float below 1 is a ratio
            batch_sampler=BatchSamplers.GROUP_BY_LABEL,  # every batch holds several documents of each label
            save_strategy="no",
            report_to="none",
            seed=42,
        )
        start = time.time()
        trainer = SentenceTransformerTrainer(model=model, args=settings, train_dataset=rows, loss=loss)
        trainer.add_callback(EpochEnd())
        trainer.train()


if __name__ == "__main__":
    main()
