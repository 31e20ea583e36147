"""encode, index and search: from documents to their nearest neighbours, with either kind of index and encoder."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import write_documents
from helpers import assert_one_line_error, cli


def test_exact_top_k_orders_by_score_then_row():
    from embedtune.serving.index import exact_top_k

    embeddings = np.array([[1, 0], [0, 1], [1, 0], [0.6, 0.8]], dtype=np.float32)
    scores, rows = exact_top_k(np.array([[1, 0]], dtype=np.float32), embeddings, k=3)
    assert rows.tolist() == [[0, 2, 3]]  # rows 0 and 2 tie: the lower row first
    np.testing.assert_allclose(scores, [[1, 1, 0.6]])
    scores, rows = exact_top_k(np.array([[0, 1]], dtype=np.float32), embeddings, k=4)  # k = every row
    assert rows.tolist() == [[1, 3, 0, 2]]
    duplicates = np.tile(np.array([[1, 0]], dtype=np.float32), (1000, 1))  # many rows tied at the k-th score
    for k in (1, 5):
        assert exact_top_k(np.array([[1, 0]], dtype=np.float32), duplicates, k=k)[1].tolist() == [list(range(k))]


def test_documents_with_unicode_line_separators_load_back(tmp_path):
    from embedtune.serving.index import Documents, Index, build_index

    texts = ["printer\u2028jams", "next\u0085line", "reset my password"]
    build_index(Documents(["a", "b", "c"], texts, None), np.eye(3, dtype=np.float32), "m", tmp_path / "i", "exact")
    assert [hits[0].text for hits in Index(tmp_path / "i").search(np.eye(3, dtype=np.float32), 1)] == texts


def test_hnsw_and_exact_find_the_same_neighbours_on_a_small_corpus(tmp_path):
    from embedtune.serving.index import Documents, Index, build_index

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    docs = Documents([f"d{i}" for i in range(300)], [f"text {i}" for i in range(300)], None)
    for kind in ("exact", "hnsw"):
        build_index(docs, vectors, "m", tmp_path / kind, kind)
    exact, graph = Index(tmp_path / "exact"), Index(tmp_path / "hnsw")
    assert graph.meta["kind"] == "hnsw" and (tmp_path / "hnsw" / "hnsw.faiss").exists()
    queries = vectors[:20] + 0.05 * rng.normal(size=(20, 16)).astype(np.float32)
    found = [[hit.id for hit in hits] for hits in exact.search(queries, 10)]
    assert found == [[hit.id for hit in hits] for hits in graph.search(queries, 10)]
    assert [ids[0] for ids in found] == [f"d{i}" for i in range(20)]


def test_auto_kind_follows_corpus_size(tmp_path, monkeypatch):
    from embedtune.serving import index as module

    docs = module.Documents(["a", "b", "c"], ["x", "y", "z"], None)
    vectors = np.eye(3, dtype=np.float32)
    assert module.build_index(docs, vectors, "m", tmp_path / "small")["kind"] == "exact"
    monkeypatch.setattr(module, "HNSW_FROM", 3)
    assert module.build_index(docs, vectors, "m", tmp_path / "large")["kind"] == "hnsw"


@pytest.mark.parametrize("encoder", ["model", "export"])
def test_index_then_search_finds_the_document_itself(
    encoder, tiny_model_dir, tiny_export, tmp_path, monkeypatch, capsys
):
    model = str(tiny_model_dir if encoder == "model" else tiny_export)
    documents = write_documents(tmp_path / "docs.tsv")
    code, out, err = cli(monkeypatch, capsys, "index", str(documents), "-m", model, "-o", str(tmp_path / "idx"))
    assert code == 0, err
    assert "indexed 9 documents (exact)" in out
    meta = json.loads((tmp_path / "idx" / "index.json").read_text())
    relative = os.path.relpath(model, (tmp_path / "idx").resolve())
    assert meta == {"model": model, "documents": 9, "dimensions": 32, "kind": "exact", "model_relative": relative}
    code, out, err = cli(monkeypatch, capsys, "search", str(tmp_path / "idx"), "printer toner is empty", "-k", "3",
                         "--json")  # fmt: skip
    assert code == 0, err
    hits = json.loads(out)["hits"]
    assert len(hits) == 3 and hits[0]["id"] == "T2" and hits[0]["category"] == "printer"
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_queries_file_prints_a_table(tiny_model_dir, tmp_path, monkeypatch, capsys):
    documents = write_documents(tmp_path / "docs.tsv")
    assert (
        cli(monkeypatch, capsys, "index", str(documents), "-m", str(tiny_model_dir), "-o", str(tmp_path / "i"))[0] == 0
    )
    queries = tmp_path / "q.tsv"
    queries.write_text("text\nreset my password please\nmy laptop will not start\n", encoding="utf-8")
    code, out, err = cli(monkeypatch, capsys, "search", str(tmp_path / "i"), "--queries", str(queries), "-k", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "query: reset my password please" and lines[1].startswith("  1. 1.0000  T3 [password]")
    assert lines[3] == "query: my laptop will not start" and "T7 [laptop]" in lines[4]


def test_encode_npy_and_parquet_agree_between_model_and_export(
    tiny_model_dir, tiny_export, tmp_path, monkeypatch, capsys
):
    import pyarrow.parquet as pq

    documents = write_documents(tmp_path / "docs.tsv")
    for model, out in ((tiny_model_dir, "a.npy"), (tiny_export, "b.npy"), (tiny_export, "c.parquet")):
        code, printed, err = cli(monkeypatch, capsys, "encode", str(documents), "-m", str(model), "-o",
                                 str(tmp_path / out))  # fmt: skip
        assert code == 0, err
        assert "wrote 9 x 32 embeddings" in printed
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    np.testing.assert_allclose(a, b, atol=1e-5)
    table = pq.read_table(tmp_path / "c.parquet")
    assert table.column_names == ["text", "embedding"] and table.num_rows == 9
    np.testing.assert_allclose(np.array(table.column("embedding").to_pylist()), b, atol=1e-6)


def test_index_ids_default_to_line_numbers_and_duplicates_are_refused(tiny_model_dir, tmp_path, monkeypatch, capsys):
    from embedtune.serving.index import read_documents

    plain = tmp_path / "plain.tsv"
    plain.write_text("text\nfirst one\nsecond one\n", encoding="utf-8")
    docs = read_documents(plain)
    assert docs.ids == ["2", "3"] and docs.categories is None
    twice = tmp_path / "twice.tsv"
    twice.write_text("id\ttext\n7\tfirst\n7\tsecond\n", encoding="utf-8")
    code, _, err = cli(monkeypatch, capsys, "index", str(twice), "-m", str(tiny_model_dir), "-o", str(tmp_path / "x"))
    assert_one_line_error(code, err, "twice.tsv:3", "'id'", "duplicate id '7'")
    assert not (tmp_path / "x").exists()


def test_a_column_named_on_the_command_line_must_exist(tiny_model_dir, tmp_path, monkeypatch, capsys):
    documents = write_documents(tmp_path / "docs.tsv")
    for option in ("--category-column", "--id-column"):
        code, _, err = cli(monkeypatch, capsys, "index", str(documents), "-m", str(tiny_model_dir), "-o",
                           str(tmp_path / "x"), option, "topic")  # fmt: skip
        assert_one_line_error(code, err, "docs.tsv:1", "'topic'", "the header has")
        assert not (tmp_path / "x").exists()


def test_search_refuses_a_model_of_another_size(tiny_model_dir, tiny_teacher_dir, tmp_path, monkeypatch, capsys):
    documents = write_documents(tmp_path / "docs.tsv")
    cli(monkeypatch, capsys, "index", str(documents), "-m", str(tiny_model_dir), "-o", str(tmp_path / "i"))
    code, _, err = cli(monkeypatch, capsys, "search", str(tmp_path / "i"), "printer", "--model", str(tiny_teacher_dir))
    assert_one_line_error(code, err, "32-dimensional", "gives 48")


def test_serve_refuses_a_model_of_another_size_before_it_starts(
    tiny_model_dir, tiny_teacher_dir, tmp_path, monkeypatch, capsys
):
    pytest.importorskip("fastapi")
    documents = write_documents(tmp_path / "docs.tsv")
    cli(monkeypatch, capsys, "index", str(documents), "-m", str(tiny_model_dir), "-o", str(tmp_path / "i"))
    code, _, err = cli(monkeypatch, capsys, "serve", str(tmp_path / "i"), "--model", str(tiny_teacher_dir))
    assert_one_line_error(code, err, "32-dimensional", "gives 48")  # not a 500 on every search


def test_search_of_an_empty_query_is_one_line(tiny_model_dir, tmp_path, monkeypatch, capsys):
    documents = write_documents(tmp_path / "docs.tsv")
    cli(monkeypatch, capsys, "index", str(documents), "-m", str(tiny_model_dir), "-o", str(tmp_path / "i"))
    code, _, err = cli(monkeypatch, capsys, "search", str(tmp_path / "i"), "   ")
    assert_one_line_error(code, err, "query: empty text")


def test_an_index_moved_with_its_run_still_finds_its_model(tiny_model_dir, tmp_path, monkeypatch, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run / "model")
    documents = write_documents(tmp_path / "docs.tsv")
    code, _, err = cli(monkeypatch, capsys, "index", str(documents), "-m", str(run / "model"), "-o", str(run / "i"))
    assert code == 0, err
    run.rename(tmp_path / "moved")
    code, printed, err = cli(monkeypatch, capsys, "search", str(tmp_path / "moved" / "i"), "printer toner", "-k", "1")
    assert code == 0 and "T2" in printed, err


def test_overwrite_replaces_only_an_index(tiny_model_dir, tmp_path, monkeypatch, capsys):
    documents = write_documents(tmp_path / "docs.tsv")
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    code, _, err = cli(monkeypatch, capsys, "index", str(documents), "-m", str(tiny_model_dir), "-o", str(other),
                       "--overwrite")  # fmt: skip
    assert_one_line_error(code, err, "was not written by this command")
    assert (other / "notes.txt").read_text() == "keep me"
