"""knn: k-nearest-neighbour category accuracy and macro-F1 of documents against an index."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import EVAL_TASKS
from embedtune.evaluation.tasks.documents import DocumentTaskConfig


@EVAL_TASKS.register
class KNNTaskConfig(DocumentTaskConfig):
    """Documents; the index is a stratified split of them, or the documents of ``index``."""

    task: Literal["knn"] = "knn"
    k: int = Field(5, ge=1, description="neighbours that vote")
    index_fraction: float = Field(0.8, gt=0, lt=1, description="share of documents (stratified) in the index")
    index: Path | None = Field(None, description="index documents from this file (path holds the queries)")

    summary: ClassVar = "k-NN category accuracy and macro-F1 of documents (text1, label) against an index split"

    def build(self, data, name):
        from embedtune.evaluation.knn import KNNEvaluator

        texts, labels = self.documents()
        source = str(self.path)
        if self.index is not None:
            index_texts, index_labels = self.documents(self.index)
            return KNNEvaluator(index_texts, index_labels, texts, labels, name=name, k=self.k, source=source)
        return KNNEvaluator.from_documents(
            texts, labels, name=name, index_fraction=self.index_fraction, seed=self.split_seed, k=self.k, source=source
        )
