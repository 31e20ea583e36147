"""reranking: rank each query's candidates (the rows sharing its text1) by cosine."""

from __future__ import annotations

from typing import ClassVar, Literal

from embedtune.config.methods import EVAL_TASKS, EvalSetConfig


@EVAL_TASKS.register
class RerankingTaskConfig(EvalSetConfig):
    """Pairs (query, candidate, 0/1 relevance) grouped by query."""

    task: Literal["reranking"] = "reranking"

    summary: ClassVar = "NDCG@10, MRR@10, MAP, Recall@k over rows grouped by text1"

    def build(self, data, name):
        from embedtune.evaluation.retrieval import RetrievalEvaluator

        return RetrievalEvaluator.from_pairs(data, name=name)
