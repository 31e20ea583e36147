from __future__ import annotations

from pathlib import Path

import pytest

from embedtune.data.documents import load_documents, load_grouped_rows, load_retrieval_files
from embedtune.data.spec import Columns, DataSpec
from embedtune.errors import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- labelled documents -----------------------------------------------------------------------------------------


def test_tsv_documents_with_csv_quoting(tmp_path):
    path = write(tmp_path / "docs.tsv", 'text\tcategory\n"a text with\ta tab"\tAccess\n  printer broken \tHardware\n')
    assert load_documents(path) == (["a text with\ta tab", "printer broken"], ["Access", "Hardware"])


def test_custom_columns_and_jsonl_with_numeric_labels(tmp_path):
    path = write(tmp_path / "docs.jsonl", '{"body": "first", "y": 3}\n\n{"body": "second", "y": "b"}\n')
    assert load_documents(path, text_column="body", label_column="y") == (["first", "second"], ["3", "b"])


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("d.tsv", "text\tlabel\nx\ty\n", r"d.tsv:1: field 'category': missing label column \('category'\)"),
        ("d.tsv", "text\tcategory\nok\tA\n \tB\n", "d.tsv:3: field 'text': text is only whitespace"),
        ("d.tsv", "text\tcategory\nok\t\n", "d.tsv:2: field 'category': empty value"),
        ("d.csv", "text,category\nok,A,extra\n", "d.csv:2: row has 3 fields but the header has 2"),
        ("d.jsonl", '{"text": "a", "category": "A"}\n{"text": "b"}\n', "d.jsonl:2: field 'category': missing key"),
        ("d.jsonl", '{"text": "a", "category": null}\n', "d.jsonl:1: field 'category': expected a string or number"),
        ("d.json", '{"text": ["a"]}', "d.json: a JSON list layout is not supported"),
        ("d.xlsx", "x", "cannot tell the format"),
        ("d.tsv", "text\tcategory\n", "d.tsv: no rows"),
    ],
)
def test_document_errors_name_file_line_and_field(tmp_path, name, content, message):
    with pytest.raises(DataError, match=message):
        load_documents(write(tmp_path / name, content))


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_documents(tmp_path / "nope.tsv")


@pytest.mark.slow
def test_reads_the_real_ticket_file(shared_data):
    texts, labels = load_documents(shared_data / "it_tickets" / "tickets.tsv")
    assert len(texts) == 3044 and len(set(labels)) == 8 and "HR Support" in labels


# --- retrieval files --------------------------------------------------------------------------------------------


def retrieval_files(tmp_path: Path, qrels: str) -> tuple[Path, Path, Path]:
    queries = write(tmp_path / "queries.tsv", "id\ttext\nq1\twhere is the cat\nq2\twho sings\n")
    corpus = write(
        tmp_path / "corpus.jsonl",
        '{"_id": "d1", "title": "Cats", "text": "the cat is in the house"}\n'
        '{"_id": 2, "title": "", "text": "a girl sings"}\n',
    )
    return queries, corpus, write(tmp_path / "qrels.tsv", qrels)


def test_retrieval_files_with_beir_names_titles_and_scores(tmp_path):
    files = load_retrieval_files(
        *retrieval_files(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\t2\t2\nq2\td1\t0\n")
    )
    assert files.queries == {"q1": "where is the cat", "q2": "who sings"}
    assert files.corpus == {"d1": "Cats the cat is in the house", "2": "a girl sings"}
    assert files.qrels == {"q1": {"d1"}, "q2": {"2"}}  # score 0 is read but not relevant


def test_qrels_without_score_column_are_all_relevant(tmp_path):
    files = load_retrieval_files(*retrieval_files(tmp_path, "query_id\tdoc_id\nq1\td1\nq1\t2\n"))
    assert files.qrels == {"q1": {"d1", "2"}}


@pytest.mark.parametrize(
    ("qrels", "message"),
    [
        ("query_id\tdoc_id\nq1\td1\nq9\td1\n", "qrels.tsv:3: field 'query_id': query id 'q9' is not in the queries"),
        ("query_id\tdoc_id\nq1\td7\n", "qrels.tsv:2: field 'doc_id': doc id 'd7' is not in the corpus"),
        ("query_id\tdoc_id\tscore\nq1\td1\thigh\n", "qrels.tsv:2: field 'score': score 'high' is not a number"),
        ("qid\tdocument\nq1\td1\n", r"qrels.tsv:1: field 'doc_id': missing doc id column"),
    ],
)
def test_qrels_errors(tmp_path, qrels, message):
    with pytest.raises(DataError, match=message):
        load_retrieval_files(*retrieval_files(tmp_path, qrels))


def test_duplicate_ids_are_errors(tmp_path):
    queries, corpus, qrels = retrieval_files(tmp_path, "query_id\tdoc_id\nq1\td1\n")
    write(queries, "id\ttext\nq1\ta\nq1\tb\n")
    with pytest.raises(DataError, match="queries.tsv:3: field 'id': duplicate id 'q1'"):
        load_retrieval_files(queries, corpus, qrels)


# --- grouped rows -----------------------------------------------------------------------------------------------


def test_grouped_rows_need_a_label_column(tmp_path):
    path = write(tmp_path / "qa.tsv", "question\tanswer\tlabel\nq\ta\t1\nq\tb\t0\n")
    columns = Columns(text1="question", text2="answer", label="label")
    data = load_grouped_rows(DataSpec(path=path, columns=columns))
    assert data.texts1 == ["q", "q"] and data.labels == [1.0, 0.0]
    with pytest.raises(DataError, match="qa.tsv: grouped rows need a relevance column"):
        load_grouped_rows(DataSpec(path=path, columns=Columns(text1="question", text2="answer")))


# --- delimiters, field length, missing files ----------------------------------------------------------------------


def test_semicolon_documents_need_the_delimiter_and_the_error_names_it(tmp_path):
    path = write(tmp_path / "docs.csv", "text;category\nprinter broken;Hardware\nvpn down;Network\n")
    with pytest.raises(DataError, match=r"docs.csv:1: the header is one column .*semicolon.*--delimiter ';'"):
        load_documents(path)
    assert load_documents(path, delimiter=";") == (["printer broken", "vpn down"], ["Hardware", "Network"])
    with pytest.raises(DataError, match=r"docs.csv: delimiter must be one character"):
        load_documents(path, delimiter="ab")  # a bad --delimiter is one line, not a validation traceback


def test_retrieval_files_take_the_delimiter_too(tmp_path):
    queries = write(tmp_path / "q.csv", "id;text\nq1;where is the cat\n")
    corpus = write(tmp_path / "c.csv", "id;text\nd1;the cat is in the house\n")
    qrels = write(tmp_path / "r.csv", "query_id;doc_id\nq1;d1\n")
    assert load_retrieval_files(queries, corpus, qrels, delimiter=";").qrels == {"q1": {"d1"}}


@pytest.mark.parametrize("name", ["docs.jsonl", "docs.tsv"])
def test_long_document_fields_are_one_limit_naming_the_field(tmp_path, name):
    from embedtune.data.readers import MAX_FIELD_CHARS

    text = "x" * (MAX_FIELD_CHARS + 1)
    content = f'{{"text": "{text}", "category": "A"}}\n' if name.endswith("jsonl") else f"text\tcategory\n{text}\tA\n"
    line = 1 if name.endswith("jsonl") else 2
    with pytest.raises(DataError, match=rf"{name}:{line}: field 'text': field is 131,073 characters, over the limit"):
        load_documents(write(tmp_path / name, content))


@pytest.mark.parametrize("name", ["nope.xlsx", "nope", "nope.txt"])
def test_a_missing_file_is_not_found_whatever_its_suffix(tmp_path, name):
    with pytest.raises(DataError, match=rf"{name}: file not found$"):
        load_documents(tmp_path / name)


def test_a_repeated_column_name_is_refused_where_no_column_is_configured(tmp_path):
    path = tmp_path / "docs.tsv"
    path.write_text("text\tcategory\ttext\nprinter jams\tHardware\tnotes\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"docs.tsv:1: field 'text': column appears 2 times"):
        load_documents(path)


def test_a_non_finite_number_is_not_a_category(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text('{"text": "printer jams", "category": 1}\n{"text": "vpn", "category": NaN}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"docs.jsonl:2: field 'category': expected a string or a finite number"):
        load_documents(path)
