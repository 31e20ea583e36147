from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest
from fake_encoder import FakeEncoder, at_angle
from sklearn.metrics import average_precision_score, ndcg_score

from embedtune.data.documents import load_grouped_rows
from embedtune.data.spec import Columns, DataSpec
from embedtune.errors import UserError
from embedtune.evaluation import retrieval
from embedtune.evaluation.retrieval import RetrievalEvaluator, ranking_metrics, ranks_of_relevant

KEYS = {"ndcg@10", "mrr@10", "map", "recall@1", "recall@5", "recall@10"}


def evaluate_one_query(cosines: list[float], relevant: list[int]) -> dict[str, float]:
    """Metrics of one query whose document i has cosine ``cosines[i]``; ``relevant`` lists relevant indices."""
    corpus = {f"d{i}": f"doc {i}" for i in range(len(cosines))}
    model = FakeEncoder({"query": [1.0, 0.0], **{f"doc {i}": at_angle(c) for i, c in enumerate(cosines)}})
    qrels = {"q": {f"d{i}" for i in relevant}}
    return RetrievalEvaluator({"q": "query"}, corpus, qrels, name="r")(model)


def test_perfect_ranking_scores_one_everywhere():
    metrics = evaluate_one_query([0.9, 0.5, 0.4, 0.3, 0.2, 0.1], [0])
    assert metrics == pytest.approx({f"r_{key}": 1.0 for key in KEYS})


def test_reversed_ranking_scores_below_ideal():
    cosines = [0.05 * i - 0.5 for i in range(12)]  # doc 0 has the lowest cosine: rank 12 of 12
    metrics = evaluate_one_query(cosines, [0])
    assert metrics["r_ndcg@10"] == 0.0 and metrics["r_mrr@10"] == 0.0 and metrics["r_recall@10"] == 0.0
    assert metrics["r_map"] == pytest.approx(1 / 12)
    middle = evaluate_one_query(cosines, [8])  # rank 4
    assert 0 < middle["r_ndcg@10"] < 1
    assert middle["r_ndcg@10"] == pytest.approx(1 / math.log2(5))


def test_hand_computed_mrr_map_ndcg_recall():
    # Relevant documents at ranks 2 and 4 of 5.
    metrics = evaluate_one_query([0.9, 0.8, 0.7, 0.6, 0.5], [1, 3])
    assert metrics["r_mrr@10"] == pytest.approx(1 / 2)
    assert metrics["r_map"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    ideal = 1 + 1 / math.log2(3)
    assert metrics["r_ndcg@10"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)
    assert metrics["r_recall@1"] == 0.0 and metrics["r_recall@5"] == 1.0
    # recall@1 of a perfect ranking with two relevant documents is 1/2: the share of relevant ones in the top 1.
    assert evaluate_one_query([0.9, 0.8, 0.7], [0, 1])["r_recall@1"] == pytest.approx(0.5)


def test_perfect_reranking_of_several_queries_scores_one_everywhere():
    model = FakeEncoder({"q1": [1, 0], "q2": [0, 1], "a": at_angle(0.9), "b": at_angle(0.1), "c": [0.1, 0.9]})
    evaluator = RetrievalEvaluator.from_grouped_rows(
        ["q1", "q1", "q1", "q2", "q2"], ["a", "b", "c", "c", "a"], [1, 0, 0, 1, 0], name="rr"
    )
    assert evaluator(model) == pytest.approx({f"rr_{key}": 1.0 for key in KEYS})


def test_ties_count_against_the_model():
    """A relevant document tied with non-relevant ones ranks after them; tied relevant ones in column order."""
    ranks = ranks_of_relevant(np.array([[0.5, 0.5, 0.5]]), np.array([[2, 0]]))
    np.testing.assert_array_equal(ranks, [[2, 3]])
    ranks = ranks_of_relevant(np.array([[0.9, 0.5, 0.5, 0.5]]), np.array([[1, -1]]))  # one tied with two others
    np.testing.assert_array_equal(ranks, [[4, np.inf]])
    # a constant model on candidates listed relevant-first (as TrecQA lists them) does not score as perfect
    constant = ranking_metrics(ranks_of_relevant(np.zeros((1, 4)), np.array([[0, 1]])), np.array([2]))
    assert constant["map"][0] == pytest.approx((1 / 3 + 2 / 4) / 2)


def test_matches_sklearn_on_random_full_corpus():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(20, 40))
    relevance = rng.random((20, 40)) < 0.1
    relevance[:, 0] = True
    relevant = retrieval.padded([list(np.flatnonzero(row)) for row in relevance])
    metrics = ranking_metrics(ranks_of_relevant(scores, relevant), relevance.sum(axis=1))
    for q in range(20):
        assert metrics["ndcg@10"][q] == pytest.approx(ndcg_score(relevance[q : q + 1], scores[q : q + 1], k=10))
        assert metrics["map"][q] == pytest.approx(average_precision_score(relevance[q], scores[q]))
        top10 = np.argsort(-scores[q])[:10]
        assert metrics["recall@10"][q] == pytest.approx(relevance[q, top10].sum() / relevance[q].sum())


def random_retrieval(seed: int = 0, n_queries: int = 15, n_docs: int = 30):
    rng = np.random.default_rng(seed)
    vectors = {f"query {i}": rng.normal(size=8) for i in range(n_queries)}
    vectors |= {f"doc {i}": rng.normal(size=8) for i in range(n_docs)}
    queries = {f"q{i}": f"query {i}" for i in range(n_queries)}
    corpus = {f"d{i}": f"doc {i}" for i in range(n_docs)}
    qrels = {f"q{i}": {f"d{j}" for j in rng.choice(n_docs, size=3, replace=False)} for i in range(n_queries)}
    return FakeEncoder(vectors), queries, corpus, qrels


def test_chunking_does_not_change_results(monkeypatch):
    model, queries, corpus, qrels = random_retrieval()
    whole = RetrievalEvaluator(queries, corpus, qrels).item_scores(model)
    monkeypatch.setattr(retrieval, "CHUNK_ELEMENTS", 1)
    chunked = RetrievalEvaluator(queries, corpus, qrels).item_scores(model)
    for key in KEYS:
        np.testing.assert_allclose(chunked[key], whole[key])


def test_items_are_per_query_and_resampled_metrics_are_means():
    model, queries, corpus, qrels = random_retrieval()
    evaluator = RetrievalEvaluator(queries, corpus, qrels, name="r")
    items = evaluator.item_scores(model)
    assert set(items) == KEYS and all(value.shape == (15,) for value in items.values())
    index = np.random.default_rng(1).integers(0, 15, size=(4, 15))
    batched = evaluator.resampled_metrics({key: value[index] for key, value in items.items()})
    np.testing.assert_allclose(batched["map"], items["map"][index].mean(axis=1))
    assert evaluator(model)["r_ndcg@10"] == pytest.approx(items["ndcg@10"].mean())
    assert evaluator.primary_metric == "r_ndcg@10"


def test_grouped_rows_rerank_only_their_own_candidates():
    # q1's relevant answer is the best match to q1 among q1's candidates, but "shared" (q2's candidate) is closer.
    vectors = {"q1": [1, 0], "q2": [0, 1], "a": at_angle(0.6), "b": at_angle(0.2), "c": at_angle(-0.5)}
    vectors["shared"] = at_angle(0.99)
    model = FakeEncoder(vectors)
    queries = ["q1", "q1", "q2", "q2", "q2"]
    candidates = ["a", "b", "c", "shared", "a"]
    labels = [1, 0, 1, 0, 0]
    evaluator = RetrievalEvaluator.from_grouped_rows(queries, candidates, labels, name="rr")
    items = evaluator.item_scores(model)
    # q1: "a" (0.6) beats "b" (0.2): rank 1. q2 = [0, 1]: cosines c -> 0.87, shared -> 0.14, a -> 0.8: c is rank 1.
    np.testing.assert_allclose(items["mrr@10"], [1.0, 1.0])
    assert len(model.calls) == 1 and sorted(model.calls[0]) == sorted(set(queries + candidates))


def test_queries_without_relevant_are_dropped_counted_and_logged(caplog):
    model = FakeEncoder({"q1": [1, 0], "q2": [0, 1], "a": [1, 0], "b": [0, 1]})
    with caplog.at_level(logging.WARNING):
        evaluator = RetrievalEvaluator.from_grouped_rows(
            ["q1", "q1", "q2"], ["a", "b", "b"], [1, 0, 0], source="t.tsv"
        )
    assert evaluator.queries_without_relevant == 1 and evaluator.query_texts == ["q1"]
    assert "t.tsv: 1 of 2 queries have no relevant document" in caplog.text
    assert evaluator.item_scores(model)["ndcg@10"].shape == (1,)


@pytest.mark.parametrize(
    ("qrels", "message"),
    [({"q9": {"d0"}}, "query id 'q9'"), ({"q0": {"d9"}}, "doc id 'd9'"), ({}, "no query has a relevant")],
)
def test_unusable_retrieval_data_raises_user_error(qrels, message):
    with pytest.raises(UserError, match=message):
        RetrievalEvaluator({"q0": "a query"}, {"d0": "a doc"}, qrels, source="qrels.tsv")


def test_grouped_rows_with_different_lengths_raise_user_error():
    with pytest.raises(UserError, match="different lengths"):
        RetrievalEvaluator.from_grouped_rows(["q"], ["a", "b"], [1, 0])


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_from_files_on_tiny_model(tiny_model, tmp_path):
    queries = write(tmp_path / "queries.tsv", "id\ttext\nq1\twhere is the cat\nq2\twho plays music\n")
    corpus = write(
        tmp_path / "corpus.jsonl",
        '{"_id": "d1", "text": "the cat is in the house"}\n{"_id": "d2", "text": "a girl plays the piano"}\n'
        '{"_id": "d3", "text": "the river is long"}\n',
    )
    qrels = write(tmp_path / "qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq2\td3\t0\n")
    evaluator = RetrievalEvaluator.from_files(queries, corpus, qrels, name="ir")
    metrics = evaluator(tiny_model)
    assert set(metrics) == {f"ir_{key}" for key in KEYS}
    assert all(0 <= value <= 1 for value in metrics.values())
    assert metrics["ir_recall@5"] == 1.0  # three documents: everything is in the top 5


def test_from_pairs_on_tiny_model(tiny_model, tmp_path):
    rows = "question\tanswer\tlabel\n" + "".join(
        f"{q}\t{a}\t{label}\n"
        for q, a, label in [
            ("where is the cat", "the cat is in the house", 1),
            ("where is the cat", "a man plays football", 0),
            ("who sings", "a girl sings a song", 1),
            ("who sings", "the river is long", 0),
            ("who sings", "the sun is warm", 0),
        ]
    )
    spec = DataSpec(
        path=write(tmp_path / "qa.tsv", rows), columns=Columns(text1="question", text2="answer", label="label")
    )
    evaluator = RetrievalEvaluator.from_pairs(load_grouped_rows(spec), name="qa")
    metrics = evaluator(tiny_model)
    assert evaluator.get_config_dict()["mode"] == "reranking" and len(evaluator.query_texts) == 2
    assert set(metrics) == {f"qa_{key}" for key in KEYS}
    assert all(0 < value <= 1 for key, value in metrics.items() if key != "qa_recall@1")


@pytest.mark.slow
def test_minilm_trecqa_dev_ndcg(shared_data, minilm_dir):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_dir), device="cpu")
    spec = DataSpec(
        path=shared_data / "trecqa" / "dev.tsv", columns=Columns(text1="question", text2="answer", label="label")
    )
    evaluator = RetrievalEvaluator.from_pairs(load_grouped_rows(spec), name="trecqa")
    metrics = evaluator(model)
    print(metrics, "dropped:", evaluator.queries_without_relevant)
    assert 0.5 < metrics["trecqa_ndcg@10"] < 1.0
