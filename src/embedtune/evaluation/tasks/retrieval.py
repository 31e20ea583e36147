"""retrieval: rank a whole corpus for each query (path is the qrels file)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from embedtune.config.methods import EVAL_TASKS, EvalSetConfig


@EVAL_TASKS.register
class RetrievalTaskConfig(EvalSetConfig):
    """path: qrels (query id, document id[, relevance]); queries and corpus are id, text files."""

    task: Literal["retrieval"] = "retrieval"
    queries: Path | None = Field(None, description="queries file (id, text)")
    corpus: Path | None = Field(None, description="corpus file (id, text[, title])")

    reads_pairs: ClassVar = False
    summary: ClassVar = (
        "NDCG@10, MRR@10, MAP, Recall@k over a whole corpus (path = qrels file, plus queries and corpus)"
    )

    @model_validator(mode="after")
    def _retrieval_files(self) -> RetrievalTaskConfig:
        if self.queries is None or self.corpus is None:
            raise ValueError("task retrieval needs queries and corpus files (path is the qrels file)")
        return self

    def build(self, data, name):
        from embedtune.evaluation.retrieval import RetrievalEvaluator

        return RetrievalEvaluator.from_files(self.queries, self.corpus, self.path, name=name, delimiter=self.delimiter)
