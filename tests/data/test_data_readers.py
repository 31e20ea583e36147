"""load_pairs: every format, and every way a data file can be wrong, reported with file, line and field."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from helpers import write_pairs

from embedtune.data import Columns, DataSpec, PairData, load_pairs
from embedtune.errors import DataError, UserError

FLAT = ["tsv", "csv", "jsonl"]
ALL = ["tsv", "csv", "jsonl", "json"]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def render(fmt: str, rows: list[dict]) -> str:
    """The same rows in each format, so one test body covers all of them."""
    keys = list(rows[0])
    if fmt == "json":
        return json.dumps({k: [row[k] for row in rows] for k in keys})
    if fmt == "jsonl":
        return "".join(json.dumps(row) + "\n" for row in rows)
    if fmt == "tsv":
        return "".join("\t".join(str(v) for v in line) + "\n" for line in [keys] + [list(r.values()) for r in rows])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(keys)
    writer.writerows([list(r.values()) for r in rows])
    return out.getvalue()


def data_line(fmt: str, index: int) -> int:
    """Line the error should point at for row ``index``: header shifts flat files by one, JSON counts items."""
    return index + 2 if fmt in ("tsv", "csv") else index + 1


def load(path: Path, **kwargs) -> PairData:
    return load_pairs(DataSpec(path=path, **kwargs))


def located(name: str, line: int | None = None, field: str | None = None) -> str:
    where = f"{name}:{line}:" if line is not None else f"{name}:"
    return re.escape(where + (f" field '{field}':" if field else ""))


def raises_one_line(match: str):
    return pytest.raises(DataError, match=match)


SCORED = Columns(text1="a", text2="b", label="score")


def scored_rows(bad_index: int | None = None, **bad: object) -> list[dict]:
    rows = [{"a": "first text", "b": "second text", "score": 2.5} for _ in range(3)]
    rows = [{**row, "a": f"text {i}"} for i, row in enumerate(rows)]
    if bad_index is not None:
        rows[bad_index].update(bad)
    return rows


# --- reading what is valid ----------------------------------------------------------------------------------------


def test_tsv_pairs_use_default_columns_and_strip_texts(tmp_path):
    path = write(tmp_path, "p.tsv", "sentence1\tsentence2\n  hello world \tgood bye\nx\ty\n")
    data = load(path)
    assert data.texts1 == ["hello world", "x"]
    assert data.texts2 == ["good bye", "y"]
    assert (data.negatives, data.labels, data.phases) == (None, None, None)
    assert data.lines == [2, 3]
    assert data.source == str(path)
    assert data.kind == "pairs"


@pytest.mark.parametrize("fmt", ALL)
def test_labels_are_normalised_from_score_range(tmp_path, fmt):
    rows = [{"a": f"t{i}", "b": "u", "score": score} for i, score in enumerate([0, 2.5, 5, 1.25])]
    data = load(write(tmp_path, f"d.{fmt}", render(fmt, rows)), columns=SCORED, score_range=(0, 5))
    assert data.labels == pytest.approx([0.0, 0.5, 1.0, 0.25])
    assert data.kind == "scored"


def test_negative_score_range_is_normalised(tmp_path):
    path = write(tmp_path, "d.tsv", "a\tb\tscore\nx\ty\t-1\nx\tz\t1\nx\tw\t0\n")
    assert load(path, columns=SCORED, score_range=(-1, 1)).labels == pytest.approx([0.0, 1.0, 0.5])


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_bom_is_stripped_so_first_column_is_found(tmp_path, fmt):
    sep = "\t" if fmt == "tsv" else ","
    content = "\ufeffsentence1" + sep + "sentence2\nx" + sep + "y\n"
    path = write(tmp_path, f"bom.{fmt}", content.encode("utf-8"))
    assert load(path).texts1 == ["x"]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_bom_is_stripped_for_json(tmp_path, fmt):
    rows = [{"sentence1" if fmt == "jsonl" else "texts1": "x", "sentence2" if fmt == "jsonl" else "texts2": "y"}]
    path = write(tmp_path, f"bom.{fmt}", b"\xef\xbb\xbf" + render(fmt, rows).encode())
    assert load(path).texts2 == ["y"]


def test_tsv_with_quoting_none_keeps_bare_quotes(tmp_path):
    lines = [
        "sentence1\tsentence2\tscore",
        'He said "hi.\tShe said "bye".\t3.0',
        '"Quoted" start\tend "\t1.0',
        "next\trow\t0",
    ]
    content = "\n".join(lines) + "\n"
    data = load(
        write(tmp_path, "sts.tsv", content), columns=Columns(label="score"), score_range=(0, 5), quoting="none"
    )
    assert data.texts1 == ['He said "hi.', '"Quoted" start', "next"]
    assert data.texts2 == ['She said "bye".', 'end "', "row"]
    assert data.lines == [2, 3, 4]


def test_csv_quoted_commas_and_multiline_fields_keep_physical_lines(tmp_path):
    content = 'sentence1,sentence2\n"a, b","c"\n"two\nlines",d\n"e ""q""",f\n'
    data = load(write(tmp_path, "q.csv", content))
    assert data.texts1 == ["a, b", "two\nlines", 'e "q"']
    assert data.lines == [2, 3, 5]


def test_crlf_line_endings(tmp_path):
    data = load(write(tmp_path, "w.csv", "sentence1,sentence2\r\nx,y\r\nz,w\r\n"))
    assert (data.texts2, data.lines) == (["y", "w"], [2, 3])


def test_blank_lines_are_skipped_but_counted(tmp_path):
    data = load(write(tmp_path, "b.tsv", "sentence1\tsentence2\n\nx\ty\n\n"))
    assert data.lines == [3]
    data = load(write(tmp_path, "b.jsonl", '\n{"sentence1": "x", "sentence2": "y"}\n\n'))
    assert data.lines == [2]


def test_json_notebook_layout_with_labels_and_phase_indicators(tmp_path):
    layout = {
        "texts1": ["a", " b "],
        "texts2": ["c", "d"],
        "labels": [1, 0],
        "phase_indicators": [1, "2"],
    }
    data = load(write(tmp_path, "nb.json", json.dumps(layout)))
    assert data.texts1 == ["a", "b"]
    assert data.labels == [1.0, 0.0]
    assert data.phases == ["1", "2"]
    assert data.lines == [1, 2]


def test_json_without_optional_keys_has_no_labels_or_phases(tmp_path):
    data = load(write(tmp_path, "nb.json", json.dumps({"texts1": ["a"], "texts2": ["b"]})))
    assert (data.labels, data.phases, data.negatives) == (None, None, None)


def test_flat_formats_read_phase_as_string(tmp_path):
    columns = Columns(text1="s", text2="t", phase="ph")
    content = '{"s": "a", "t": "b", "ph": 1}\n{"s": "c", "t": "d", "ph": "1"}\n'
    assert load(write(tmp_path, "p.jsonl", content), columns=columns).phases == ["1", "1"]
    data = load(write(tmp_path, "p.tsv", "s\tt\tph\na\tb\twarmup\n"), columns=columns)
    assert data.phases == ["warmup"]


def test_flat_formats_ignore_label_column_unless_configured(tmp_path):
    data = load(write(tmp_path, "p.tsv", "sentence1\tsentence2\tscore\nx\ty\tnot-a-number\n"))
    assert data.labels is None


@pytest.mark.parametrize("fmt", ALL)
def test_triplets_via_negative_column(tmp_path, fmt):
    rows = [{"q": "anchor", "p": "positive", "n": " negative "}, {"q": "a2", "p": "p2", "n": "n2"}]
    data = load(write(tmp_path, f"t.{fmt}", render(fmt, rows)), columns=Columns(text1="q", text2="p", negative="n"))
    assert data.negatives == ["negative", "n2"]
    assert data.kind == "triplets"


def test_explicit_format_overrides_suffix(tmp_path):
    path = write(tmp_path, "data.txt", 'sentence1,sentence2\n"a, b",c\n')
    assert load(path, format="csv").texts1 == ["a, b"]


def test_data_error_is_a_user_error(tmp_path):
    with pytest.raises(UserError):
        load(tmp_path / "nope.tsv")


# --- file-level errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL)
def test_missing_file(tmp_path, fmt):
    with raises_one_line(located(f"nope.{fmt}") + " file not found"):
        load(tmp_path / f"nope.{fmt}")


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_file(tmp_path, fmt, content):
    with raises_one_line(located(f"e.{fmt}") + " file is empty"):
        load(write(tmp_path, f"e.{fmt}", content))


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_blank_first_line_means_no_header(tmp_path, fmt):
    with raises_one_line(located(f"h.{fmt}", 1) + " no header row"):
        load(write(tmp_path, f"h.{fmt}", "\nx\ty\n"))


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_header_only_has_no_rows(tmp_path, fmt):
    with raises_one_line(located(f"h.{fmt}") + " no rows"):
        load(write(tmp_path, f"h.{fmt}", "sentence1\tsentence2\n".replace("\t", "," if fmt == "csv" else "\t")))


def test_json_with_empty_lists_has_no_rows(tmp_path):
    with raises_one_line(located("e.json") + " no rows"):
        load(write(tmp_path, "e.json", '{"texts1": [], "texts2": []}'))


@pytest.mark.parametrize("fmt", ALL)
def test_invalid_utf8_names_line_and_byte(tmp_path, fmt):
    rows = [{"a": "ok", "b": "ok", "score": 1}, {"a": "BAD", "b": "ok", "score": 1}]
    raw = render(fmt, rows).encode("utf-8").replace(b"BAD", b"B\xffD")
    line = {"tsv": 3, "csv": 3, "jsonl": 2, "json": 1}[fmt]
    offset = raw.index(b"\xff")
    problem = rf" not valid UTF-8 \(byte 0xff at offset {offset}\); re-save the file as UTF-8"
    match = located(f"u.{fmt}", line) + problem
    with raises_one_line(match):
        load(write(tmp_path, f"u.{fmt}", raw), columns=SCORED)


def test_invalid_utf8_offset_counts_the_bom(tmp_path):
    raw = b"\xef\xbb\xbfsentence1\tsentence2\nx\t\xe9\n"
    with raises_one_line(located("u.tsv", 2) + r" not valid UTF-8 \(byte 0xe9 at offset 25\)"):
        load(write(tmp_path, "u.tsv", raw))


# --- TSV / CSV structure --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_missing_column_lists_available_ones(tmp_path, fmt):
    path = write(tmp_path, f"c.{fmt}", render(fmt, [{"first": "x", "sentence2": "y"}]))
    with raises_one_line(located(f"c.{fmt}", 1, "sentence1") + r" missing column.*'first', 'sentence2'"):
        load(path)


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
@pytest.mark.parametrize("role", ["negative", "label", "phase"])
def test_missing_configured_optional_column(tmp_path, fmt, role):
    path = write(tmp_path, f"c.{fmt}", render(fmt, [{"sentence1": "x", "sentence2": "y"}]))
    with raises_one_line(located(f"c.{fmt}", 1, "extra") + f" missing column for {role}"):
        load(path, columns=Columns(**{role: "extra"}))


def test_duplicate_header_column(tmp_path):
    with raises_one_line(located("d.tsv", 1, "sentence1") + " column appears 2 times"):
        load(write(tmp_path, "d.tsv", "sentence1\tsentence1\tsentence2\na\tb\tc\n"))


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
@pytest.mark.parametrize("extra", [True, False])
def test_wrong_number_of_fields(tmp_path, fmt, extra):
    sep = "\t" if fmt == "tsv" else ","
    bad = sep.join(["x", "y", "z"] if extra else ["x"])
    content = f"sentence1{sep}sentence2\na{sep}b\n{bad}\n"
    count = 3 if extra else 1
    with raises_one_line(located(f"w.{fmt}", 3) + f" row has {count} fields but the header has 2"):
        load(write(tmp_path, f"w.{fmt}", content))


@pytest.mark.parametrize("content", ['"open,c\nd,e\n', 'x,"open\nd,e\nf,g\n'])
def test_csv_unclosed_quote_is_reported_where_the_row_starts(tmp_path, content):
    with raises_one_line(located("q.csv", 3) + " cannot parse row: .*quote left open"):
        load(write(tmp_path, "q.csv", "sentence1,sentence2\na,b\n" + content))


def test_csv_text_after_closing_quote_is_an_error(tmp_path):
    with raises_one_line(located("q.csv", 2) + " cannot parse row"):
        load(write(tmp_path, "q.csv", 'sentence1,sentence2\n"a"b,c\n'))


# --- row values, every format ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize(("value", "problem"), [("", "empty text"), ("  \t ", "text is only whitespace")])
def test_empty_or_whitespace_text(tmp_path, fmt, value, problem):
    if fmt == "tsv" and "\t" in value:
        value = "   "
        problem = "text is only whitespace"
    rows = scored_rows(1, b=value)
    with raises_one_line(located(f"t.{fmt}", data_line(fmt, 1), "b") + ".*" + problem):
        load(write(tmp_path, f"t.{fmt}", render(fmt, rows)), columns=SCORED, score_range=(0, 5))


@pytest.mark.parametrize("fmt", ALL)
def test_empty_negative_text(tmp_path, fmt):
    rows = [{"q": "a", "p": "b", "n": "c"}, {"q": "a2", "p": "b2", "n": " "}]
    with raises_one_line(located(f"t.{fmt}", data_line(fmt, 1), "n") + ".*only whitespace"):
        load(write(tmp_path, f"t.{fmt}", render(fmt, rows)), columns=Columns(text1="q", text2="p", negative="n"))


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("high", r"label 'high' is not a number"),
        ("", r"label '' is not a number"),
        (float("nan"), r"label is NaN"),
        (float("inf"), r"label is infinite"),
        (float("-inf"), r"label is infinite"),
        (5.5, r"label 5.5 is outside score_range \[0, 5\]"),
        (-0.1, r"label -0.1 is outside score_range \[0, 5\]"),
    ],
)
def test_bad_labels(tmp_path, fmt, value, problem):
    rows = scored_rows(2, score=value)
    with raises_one_line(located(f"l.{fmt}", data_line(fmt, 2), "score") + ".*" + problem):
        load(write(tmp_path, f"l.{fmt}", render(fmt, rows)), columns=SCORED, score_range=(0, 5))


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("a", 7, "expected a string, got a number"),
        ("b", None, "expected a string, got null"),
        ("score", True, "label must be a number, got a boolean"),
        ("score", [1], "label must be a number, got a list"),
    ],
)
def test_json_values_of_wrong_type(tmp_path, fmt, field, value, problem):
    rows = scored_rows(1, **{field: value})
    with raises_one_line(located(f"v.{fmt}", 2, field) + ".*" + problem):
        load(write(tmp_path, f"v.{fmt}", render(fmt, rows)), columns=SCORED, score_range=(0, 5))


def test_json_errors_mention_the_item(tmp_path):
    with raises_one_line(located("i.json", 2, "texts2") + " item 2: empty text"):
        load(write(tmp_path, "i.json", json.dumps({"texts1": ["a", "b"], "texts2": ["c", ""]})))


@pytest.mark.parametrize("fmt", ALL)
def test_bad_phase(tmp_path, fmt):
    rows = [{"sentence1": "a", "sentence2": "b", "ph": "1"}, {"sentence1": "c", "sentence2": "d", "ph": " "}]
    if fmt == "json":
        rows = [{"texts1": r["sentence1"], "texts2": r["sentence2"], "ph": r["ph"]} for r in rows]
    with raises_one_line(located(f"p.{fmt}", data_line(fmt, 1), "ph") + ".*empty phase"):
        load(write(tmp_path, f"p.{fmt}", render(fmt, rows)), columns=Columns(phase="ph"))


# --- JSONL structure ------------------------------------------------------------------------------------------------


def test_jsonl_texts_may_hold_unicode_line_separators(tmp_path):
    """JSON Lines are split on \\n only: U+2028 / U+0085 inside a text (json.dumps(ensure_ascii=False)) stay there."""
    rows = [{"sentence1": "printer\u2028jams", "sentence2": "next\u0085line"}, {"sentence1": "c", "sentence2": "d"}]
    content = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    data = load(write(tmp_path, "j.jsonl", content))
    assert data.texts1 == ["printer\u2028jams", "c"] and data.texts2[0] == "next\u0085line"


def test_jsonl_unparseable_line(tmp_path):
    content = '{"sentence1": "a", "sentence2": "b"}\n{"sentence1": "a", "sentence2": }\n'
    with raises_one_line(located("j.jsonl", 2) + " not valid JSON"):
        load(write(tmp_path, "j.jsonl", content))


@pytest.mark.parametrize(("line", "kind"), [('["a", "b"]', "a list"), ('"text"', "a string"), ("3", "a number")])
def test_jsonl_line_not_an_object(tmp_path, line, kind):
    content = '{"sentence1": "a", "sentence2": "b"}\n' + line + "\n"
    with raises_one_line(located("j.jsonl", 2) + f" expected a JSON object, got {kind}"):
        load(write(tmp_path, "j.jsonl", content))


def test_jsonl_missing_key(tmp_path):
    content = '{"sentence1": "a", "sentence2": "b"}\n{"sentence1": "a", "s2": "b"}\n'
    with raises_one_line(located("j.jsonl", 2, "sentence2") + r" missing key; the object has: 'sentence1', 's2'"):
        load(write(tmp_path, "j.jsonl", content))


def test_jsonl_missing_configured_label(tmp_path):
    content = '{"sentence1": "a", "sentence2": "b", "score": 1}\n{"sentence1": "a", "sentence2": "b"}\n'
    with raises_one_line(located("j.jsonl", 2, "score") + " missing key"):
        load(write(tmp_path, "j.jsonl", content), columns=Columns(label="score"))


# --- notebook JSON structure --------------------------------------------------------------------------------------


def test_json_unparseable_gives_line(tmp_path):
    content = '{\n  "texts1": ["a"],\n  "texts2": ["b",]\n}\n'
    with raises_one_line(located("j.json", 3) + " not valid JSON"):
        load(write(tmp_path, "j.json", content))


@pytest.mark.parametrize(("content", "kind"), [('["a", "b"]', "a list"), ('"a"', "a string"), ("null", "null")])
def test_json_top_level_not_an_object(tmp_path, content, kind):
    with raises_one_line(located("j.json") + f" top level must be an object.*got {kind}"):
        load(write(tmp_path, "j.json", content))


@pytest.mark.parametrize("key", ["texts1", "texts2", "labels", "phase_indicators"])
def test_json_value_not_a_list(tmp_path, key):
    layout = {"texts1": ["a"], "texts2": ["b"], "labels": [1], "phase_indicators": [0]}
    layout[key] = "oops"
    with raises_one_line(located("j.json", None, key) + " expected a list, got a string"):
        load(write(tmp_path, "j.json", json.dumps(layout)))


@pytest.mark.parametrize("key", ["texts2", "labels", "phase_indicators"])
def test_json_ragged_lists(tmp_path, key):
    layout = {"texts1": ["a", "b", "c"], "texts2": ["d", "e", "f"], "labels": [1, 0, 1], "phase_indicators": [0, 0, 1]}
    layout[key] = layout[key][:2]
    with raises_one_line(located("j.json", None, key) + " has 2 items but 'texts1' has 3"):
        load(write(tmp_path, "j.json", json.dumps(layout)))


def test_json_missing_texts_key(tmp_path):
    with raises_one_line(located("j.json", None, "texts2") + r" missing key; the object has: 'texts1', 'text2'"):
        load(write(tmp_path, "j.json", json.dumps({"texts1": ["a"], "text2": ["b"]})))


@pytest.mark.parametrize("role", ["negative", "label", "phase"])
def test_json_missing_configured_key(tmp_path, role):
    path = write(tmp_path, "j.json", json.dumps({"texts1": ["a"], "texts2": ["b"]}))
    with raises_one_line(located("j.json", None, "extra") + " missing key"):
        load(path, columns=Columns(**{role: "extra"}))


def test_error_messages_are_one_line(tmp_path):
    path = write(tmp_path, "n.csv", 'sentence1,sentence2\n"multi\nline",\n')
    with pytest.raises(DataError) as info:
        load(path)
    assert "\n" not in str(info.value)
    assert (info.value.line, info.value.field) == (2, "sentence2")


# --- real data ------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_stsb_dev_loads_completely(shared_data):
    data = load(shared_data / "stsb" / "dev.tsv", columns=Columns(label="score"), score_range=(0, 5))
    assert len(data) == 1500
    assert data.labels is not None and all(0.0 <= x <= 1.0 for x in data.labels)
    assert min(data.labels) == 0.0 and max(data.labels) == 1.0
    assert all(data.texts1) and all(data.texts2)
    assert data.lines[0] == 2 and data.lines[-1] == 1501


def test_tsv_reads_csv_style_quoted_fields_like_the_shared_stsb_files(tmp_path):
    lines = [
        "sentence1\tsentence2\tscore",
        '"A dog in a ""superman"" shirt."\tA dog in a Superman shirt.\t4.00',
        'He said "hi" twice\t"tab\tinside"\t1.0',
    ]
    data = load(write(tmp_path, "q.tsv", "\n".join(lines) + "\n"), columns=Columns(label="score"), score_range=(0, 5))
    assert data.texts1 == ['A dog in a "superman" shirt.', 'He said "hi" twice']
    assert data.texts2 == ["A dog in a Superman shirt.", "tab\tinside"]
    assert data.lines == [2, 3]


def test_sample_keeps_a_seeded_subset_in_file_order(tmp_path):
    path = write_pairs(tmp_path / "pairs.tsv", n=40)
    every = load_pairs(DataSpec(path=path, columns=Columns(label="label"), score_range=(0, 5)))
    sampled = load_pairs(DataSpec(path=path, columns=Columns(label="label"), score_range=(0, 5), sample=10))
    again = load_pairs(DataSpec(path=path, columns=Columns(label="label"), score_range=(0, 5), sample=10))
    other = load_pairs(
        DataSpec(path=path, columns=Columns(label="label"), score_range=(0, 5), sample=10, sample_seed=1)
    )
    assert len(sampled) == 10 and sampled.texts1 == again.texts1 and sampled.texts1 != other.texts1
    assert sampled.lines == sorted(sampled.lines)
    assert all(every.texts1[line - 2] == text for line, text in zip(sampled.lines, sampled.texts1))
    assert len(load_pairs(DataSpec(path=path, columns=Columns(label="label"), score_range=(0, 5), sample=99))) == 40


# --- delimiters, text labels, field length, missing files -------------------------------------------------------


@pytest.mark.parametrize(("fmt", "expected"), [("tsv", "tab"), ("csv", "comma")])
def test_a_semicolon_header_names_the_delimiter_setting(tmp_path, fmt, expected):
    path = write(tmp_path, f"s.{fmt}", "sentence1;sentence2\nhello;world\n")
    message = rf"with no {expected} but 1 semicolon\(s\).*set delimiter: ';' in the run config.*--delimiter ';'"
    with raises_one_line(located(f"s.{fmt}", 1) + " the header is one column 'sentence1;sentence2'" + ".*" + message):
        load(path)
    assert load(path, delimiter=";").texts1 == ["hello"]


def test_delimiter_reads_an_unknown_suffix_and_accepts_a_typed_tab(tmp_path):
    assert load(write(tmp_path, "p.dat", "sentence1|sentence2\na|b\n"), delimiter="|").texts2 == ["b"]
    assert DataSpec(path=Path("x.csv"), delimiter="\\t").delimiter == "\t"  # what a shell passes for '\t'
    with pytest.raises(ValueError, match="delimiter must be one character"):
        DataSpec(path=Path("x.csv"), delimiter=";;")


@pytest.mark.parametrize("fmt", FLAT)
def test_text_labels_without_label_map_name_it(tmp_path, fmt):
    rows = [{"a": "x", "b": "y", "score": "yes"}, {"a": "z", "b": "w", "score": "no"}]
    with raises_one_line(
        located(f"t.{fmt}", data_line(fmt, 0), "score") + " label 'yes' is not a number; .*label_map"
    ):
        load(write(tmp_path, f"t.{fmt}", render(fmt, rows)), columns=SCORED)


@pytest.mark.parametrize("fmt", ALL)
def test_label_map_turns_yes_no_labels_into_numbers(tmp_path, fmt):
    import yaml

    rows = [{"a": f"t{i}", "b": "y", "score": label} for i, label in enumerate(["Yes", "no", " YES ", 1, "0"])]
    label_map = yaml.safe_load("{yes: 1, no: 0}")  # YAML reads unquoted yes/no as booleans
    data = load(write(tmp_path, f"m.{fmt}", render(fmt, rows)), columns=SCORED, label_map=label_map)
    assert data.labels == [1.0, 0.0, 1.0, 1.0, 0.0]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_json_boolean_labels_use_label_map_or_name_it(tmp_path, fmt):
    path = write(
        tmp_path, f"b.{fmt}", render(fmt, [{"a": "x", "b": "y", "score": True}, {"a": "z", "b": "w", "score": False}])
    )
    assert load(path, columns=SCORED, label_map={"true": 1, "false": 0}).labels == [1.0, 0.0]
    with raises_one_line(r".*label must be a number, got a boolean; set label_map"):
        load(path, columns=SCORED)


def test_label_map_errors(tmp_path):
    path = write(tmp_path, "e.tsv", "a\tb\tscore\nx\ty\tpos\nz\tw\tmaybe\n")
    with raises_one_line(located("e.tsv", 3, "score") + r" label 'maybe' is not in label_map \['neg', 'pos'\]"):
        load(path, columns=SCORED, label_map={"pos": 1, "neg": 0})
    with pytest.raises(ValueError, match="label_map .* or label_classes .*not both"):
        DataSpec(path=path, label_map={"pos": 1}, label_classes=["a", "b"])
    with pytest.raises(ValueError, match="names 'true' twice"):
        DataSpec(path=path, label_map={"yes": 1, "True": 0})


@pytest.mark.parametrize("fmt", ALL)
def test_one_field_length_limit_for_every_format(tmp_path, fmt):
    from embedtune.data.readers import MAX_FIELD_CHARS

    limit = csv.field_size_limit()
    ok = [{"a": "x" * MAX_FIELD_CHARS, "b": "y"}]
    assert len(load(write(tmp_path, f"ok.{fmt}", render(fmt, ok)), columns=Columns(text1="a", text2="b"))) == 1
    long = [{"a": "x", "b": "y"}, {"a": "x" * (MAX_FIELD_CHARS + 1), "b": "y"}]
    item = "item 2: " if fmt == "json" else ""
    problem = rf" {item}field is {MAX_FIELD_CHARS + 1:,} characters, over the limit of {MAX_FIELD_CHARS:,}$"
    with raises_one_line(located(f"long.{fmt}", data_line(fmt, 1), "a") + problem):
        load(write(tmp_path, f"long.{fmt}", render(fmt, long)), columns=Columns(text1="a", text2="b"))
    assert csv.field_size_limit() == limit  # csv's process-wide limit is put back


def test_an_unclosed_quote_that_swallows_lines_is_reported_as_such(tmp_path):
    from embedtune.data.readers import MAX_FIELD_CHARS

    lines = "".join(f"text {i}\tother\n" for i in range(MAX_FIELD_CHARS // 10))
    path = write(tmp_path, "q.tsv", f'sentence1\tsentence2\n"open\tb\n{lines}close"\tc\n')
    with raises_one_line(located("q.tsv", 2, "sentence1") + r" field is .* characters, .*is a quote left open\?"):
        load(path)


@pytest.mark.parametrize("name", ["nope.xlsx", "nope", "nope.txt"])
def test_missing_file_comes_before_format_advice(tmp_path, name):
    with raises_one_line(located(name) + " file not found$"):
        load(tmp_path / name)
    with raises_one_line(r"cannot tell the format from suffix '\.xlsx'; rename the file to \.tsv"):
        load(write(tmp_path, "there.xlsx", "sentence1\tsentence2\na\tb\n"))
