"""Read pair, triplet and scored-pair files into :class:`PairData`.

Every problem becomes a one-line :class:`DataError` naming the file, the line and the field, because the person
fixing it is looking at the file in an editor, not at a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from embedtune.data.pairs import PairData
from embedtune.data.spec import DataSpec, label_key
from embedtune.errors import DataError

Row = tuple[int, dict[str, object]]

_DELIMITERS = {"tsv": "\t", "csv": ","}
#: Separators recognised in a one-column header, to say what the file probably uses instead.
_DELIMITER_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
#: Commands whose ``--delimiter`` option reaches the reader (the hint names only options that exist).
DELIMITER_COMMANDS = ("mine", "eval", "compare")
#: Longest field, in characters, in every format: Python's csv default, so TSV files read as before, and JSONL
#: gets the same bound. A longer field is nearly always an unclosed quote that swallowed the lines after it.
MAX_FIELD_CHARS = 131_072
#: csv's own bound while embedtune reads: high enough that the check above, which names the field, comes first.
_CSV_READ_LIMIT = 2**31 - 1
_LABEL_MAP_HINT = "; map text labels to numbers with label_map, e.g. {yes: 1, no: 0}"


def delimiter_of(fmt: str, delimiter: str | None = None) -> str:
    return delimiter or _DELIMITERS[fmt]


def _dialect(delimiter: str, quoting: str) -> dict:
    """csv quoting by default (what Python's csv and pandas write, TSV included); ``none`` for raw exports.

    strict: an unclosed quote would otherwise swallow the rest of the file into one text without complaint.
    """
    if quoting == "none":
        return {"delimiter": delimiter, "quoting": csv.QUOTE_NONE}
    return {"delimiter": delimiter, "strict": True}


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """csv's field limit is process-wide; raise it only while reading and put the caller's back afterwards."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def load_pairs(spec: DataSpec) -> PairData:
    """Load and validate one data file (every row, even when ``sample`` keeps fewer); the format comes from the
    spec so callers never branch on it."""
    data = _load_all(spec)
    if spec.sample is None or spec.sample >= len(data):
        return data
    kept = sorted(random.Random(spec.sample_seed).sample(range(len(data)), spec.sample))
    return data.subset(kept)


def _load_all(spec: DataSpec) -> PairData:
    text = _read_text(spec.path)  # "file not found" before any advice about the format of a file that is not there
    fmt = spec.resolved_format()
    if fmt == "json":
        keys, rows = _json_rows(spec, text)
        return _build(spec, keys, rows, item=True)
    if fmt == "jsonl":
        keys = _flat_keys(spec)
        return _build(spec, keys, _jsonl_rows(spec.path, text, keys), item=False)
    keys = _flat_keys(spec)
    rows = _delimited_rows(spec.path, text, delimiter_of(fmt, spec.delimiter), keys, spec.quoting)
    return _build(spec, keys, rows, item=False)


# --- reading the raw text -------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    """Decode as UTF-8 (dropping an Excel BOM) and point at the offending line when the file is not UTF-8."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, "is a directory, expected a data file") from None
    except OSError as exc:
        raise DataError(path, f"cannot read the file: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # utf-8-sig reports offsets relative to the text after the BOM; add it back for the file offset.
        offset = exc.start + len(data) - len(exc.object)
        line = exc.object[: exc.start].count(b"\n") + 1
        bad = exc.object[exc.start]
        problem = f"not valid UTF-8 (byte 0x{bad:02x} at offset {offset}); re-save the file as UTF-8"
        raise DataError(path, problem, line=line) from None
    if not text.strip():
        raise DataError(path, "file is empty")
    return text


def _flat_keys(spec: DataSpec) -> dict[str, str | None]:
    """Column names for row-oriented formats: texts default to sentence1/sentence2, the rest is opt-in."""
    cols = spec.columns
    return {
        "text1": cols.text1 or "sentence1",
        "text2": cols.text2 or "sentence2",
        "negative": cols.negative,
        "label": cols.label,
        "phase": cols.phase,
        "group": cols.group,
    }


# --- TSV / CSV --------------------------------------------------------------------------------------------------


def _delimited_rows(path: Path, text: str, delimiter: str, keys: dict[str, str | None], quoting: str) -> Iterator[Row]:
    """Yield rows keyed by header name with the physical line each row starts on (quoted CSV may span lines)."""
    with _csv_field_limit(_CSV_READ_LIMIT):
        reader = csv.reader(io.StringIO(text, newline=""), **_dialect(delimiter, quoting))
        header = [name.strip() for name in _next_row(path, reader, 1) or []]
        if not any(header):
            raise DataError(path, "no header row (the first line is blank); expected column names", line=1)
        _check_delimiter(path, header, delimiter)
        _check_header(path, header, keys)
        open_quote = quoting != "none"
        while True:
            line = reader.line_num + 1
            row = _next_row(path, reader, line)
            if row is None:
                return
            if not row:
                continue  # blank line
            if len(row) != len(header):
                name = _DELIMITER_NAMES.get(delimiter, repr(delimiter))
                quote = " quote texts that contain one" if open_quote else ""
                hint = f" (is there a {name} inside a text?{quote})"
                raise DataError(path, f"row has {len(row)} fields but the header has {len(header)}{hint}", line=line)
            values = dict(zip(header, row))
            _check_lengths(path, line, values, open_quote)
            yield line, values


def _check_delimiter(path: Path, header: list[str], delimiter: str) -> None:
    """A one-column header that holds another separator is a file split with the wrong one: say which to set."""
    if len(header) != 1:
        return
    counts = {d: header[0].count(d) for d in _DELIMITER_NAMES if d != delimiter and d in header[0]}
    if not counts:
        return
    found = max(counts, key=counts.get)
    shown = "\\t" if found == "\t" else found
    commands = ", ".join(f"embedtune {name}" for name in DELIMITER_COMMANDS)
    problem = (
        f"the header is one column {_short(header[0])} with no {_DELIMITER_NAMES.get(delimiter, repr(delimiter))} "
        f"but {counts[found]} {_DELIMITER_NAMES[found]}(s); if the file is {_DELIMITER_NAMES[found]}-separated, set "
        f"delimiter: '{shown}' in the run config, or pass --delimiter '{shown}' ({commands})"
    )
    raise DataError(path, problem, line=1)


def _check_lengths(
    path: Path, line: int, values: dict[str, object], delimited: bool = False, prefix: str = ""
) -> None:
    """One bound for every format (see MAX_FIELD_CHARS), reported on the field, not as a parser failure."""
    for name, value in values.items():
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            hint = "; is a quote left open?" if delimited and "\n" in value else ""
            problem = f"{prefix}field is {len(value):,} characters, over the limit of {MAX_FIELD_CHARS:,}{hint}"
            raise DataError(path, problem, line=line, field=name)


def _next_row(path: Path, reader: Iterator[list[str]], line: int) -> list[str] | None:
    """Turn csv's own errors (unclosed quote, NUL byte, huge field) into a DataError at the row's first line."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        hint = "; is a quote left open?" if "end of data" in str(exc) else ""
        raise DataError(path, f"cannot parse row: {exc}{hint}", line=line) from None


def _check_header(path: Path, header: list[str], keys: dict[str, str | None]) -> None:
    """Fail on the header line rather than on every row when a configured column does not exist or a name repeats."""
    for role, name in keys.items():
        if name is None:
            continue
        if name not in header:
            available = ", ".join(repr(h) for h in header)
            problem = f"missing column for {role}; the header has: {available}"
            raise DataError(path, problem, line=1, field=name)
    repeated = next((name for name in header if name and header.count(name) > 1), None)
    if repeated is not None:  # configured or not: a row's values are keyed by name, and the last would win silently
        raise DataError(path, f"column appears {header.count(repeated)} times in the header", line=1, field=repeated)


# --- JSONL ------------------------------------------------------------------------------------------------------


def _jsonl_rows(path: Path, text: str, keys: dict[str, str | None]) -> Iterator[Row]:
    """One object per line; blank lines are allowed so a trailing newline or two is harmless."""
    for number, raw in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 may be inside a text
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(path, f"not valid JSON: {exc.msg} (column {exc.colno})", line=number) from None
        if not isinstance(obj, dict):
            raise DataError(path, f"expected a JSON object, got {_type_name(obj)}", line=number)
        for name in keys.values():
            if name is not None and name not in obj:
                available = ", ".join(repr(k) for k in obj) or "none"
                raise DataError(path, f"missing key; the object has: {available}", line=number, field=name)
        _check_lengths(path, number, obj)
        yield number, obj


# --- notebook JSON layout ---------------------------------------------------------------------------------------


def _json_keys(spec: DataSpec, obj: dict) -> dict[str, str | None]:
    """Keys of the notebook layout; default label/phase keys are read only when present, configured ones must be."""
    cols = spec.columns
    label = cols.label or ("labels" if "labels" in obj else None)
    phase = cols.phase or ("phase_indicators" if "phase_indicators" in obj else None)
    return {
        "text1": cols.text1 or "texts1",
        "text2": cols.text2 or "texts2",
        "negative": cols.negative,
        "label": label,
        "phase": phase,
        "group": cols.group,
    }


def _json_rows(spec: DataSpec, text: str) -> tuple[dict[str, str | None], list[Row]]:
    """Turn parallel lists into rows, checking shape first so a ragged file fails once, not per item."""
    path = spec.path
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    if not isinstance(obj, dict):
        layout = '{"texts1": [...], "texts2": [...]}'
        raise DataError(path, f"top level must be an object of lists like {layout}, got {_type_name(obj)}")
    keys = _json_keys(spec, obj)
    names = [name for name in keys.values() if name is not None]
    for name in names:
        if name not in obj:
            available = ", ".join(repr(k) for k in obj) or "none"
            raise DataError(path, f"missing key; the object has: {available}", field=name)
        if not isinstance(obj[name], list):
            raise DataError(path, f"expected a list, got {_type_name(obj[name])}", field=name)
    first = names[0]
    for name in names[1:]:
        if len(obj[name]) != len(obj[first]):
            problem = f"has {len(obj[name])} items but '{first}' has {len(obj[first])}; the lists must be parallel"
            raise DataError(path, problem, field=name)
    rows = [(i + 1, {name: obj[name][i] for name in names}) for i in range(len(obj[first]))]
    for item, values in rows:
        _check_lengths(path, item, values, prefix=f"item {item}: ")
    return keys, rows


# --- validating rows --------------------------------------------------------------------------------------------


def _build(spec: DataSpec, keys: dict[str, str | None], rows: Iterable[Row], item: bool) -> PairData:
    """Validate each row once, in file order, so the first bad row is the one reported."""
    path = spec.path
    out: dict[str, list] = {role: [] for role in keys}
    lines: list[int] = []
    for line, values in rows:
        where = _Where(path, line, item)
        for role, name in keys.items():
            if name is not None:
                out[role].append(_convert(spec, role, name, values[name], where))
        lines.append(line)
    if not lines:
        raise DataError(path, "no rows")

    def optional(role: str) -> list | None:
        return out[role] if keys[role] is not None else None

    return PairData(
        source=str(spec.path),
        texts1=out["text1"],
        texts2=out["text2"],
        negatives=optional("negative"),
        labels=optional("label"),
        phases=optional("phase"),
        groups=optional("group"),
        lines=lines,
        num_classes=len(spec.label_classes) if spec.label_classes and keys["label"] is not None else None,
    )


class _Where:
    """Location of one row; JSON rows say "item N" because their line number is really a list position."""

    def __init__(self, path: Path, line: int, item: bool) -> None:
        self.path, self.line, self.item = path, line, item

    def error(self, field: str, problem: str) -> DataError:
        prefix = f"item {self.line}: " if self.item else ""
        return DataError(self.path, prefix + problem, line=self.line, field=field)


def _convert(spec: DataSpec, role: str, name: str, value: object, where: _Where) -> object:
    if role == "label":
        return _label(spec, name, value, where)
    if role in ("phase", "group"):
        return _name(role, name, value, where)
    return _text(name, value, where)


def _text(name: str, value: object, where: _Where) -> str:
    """Empty texts embed to noise and silently hurt training, so they are errors, not skipped rows."""
    if not isinstance(value, str):
        raise where.error(name, f"expected a string, got {_type_name(value)}")
    text = value.strip()
    if not text:
        raise where.error(name, "empty text" if not value else "text is only whitespace")
    return text


def _label(spec: DataSpec, name: str, value: object, where: _Where) -> float:
    """Map to [0, 1] so every loss sees the same scale; out-of-range means a wrong score_range, not a clamp.
    With ``label_classes`` the label is a class name and becomes its index."""
    if spec.label_classes:
        return _class_index(spec.label_classes, name, value, where)
    if spec.label_map is not None:
        value = _mapped_label(spec.label_map, name, value, where)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        hint = "; set label_map, e.g. {true: 1, false: 0}" if isinstance(value, bool) else ""
        raise where.error(name, f"label must be a number, got {_type_name(value)}{hint}")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except ValueError:
        hint = _LABEL_MAP_HINT if isinstance(value, str) and value.strip() and spec.label_map is None else ""
        raise where.error(name, f"label {_short(value)} is not a number{hint}") from None
    if math.isnan(number) or math.isinf(number):
        raise where.error(name, f"label is {'NaN' if math.isnan(number) else 'infinite'}; labels must be finite")
    low, high = spec.score_range
    if not low <= number <= high:
        problem = f"label {number:g} is outside score_range [{low:g}, {high:g}]; fix the row or set score_range"
        raise where.error(name, problem)
    return (number - low) / (high - low)


def _mapped_label(label_map: dict[str, float], name: str, value: object, where: _Where) -> object:
    """The mapped number of a text label; numbers not in the map pass through, other texts are errors."""
    if not isinstance(value, (str, int, float)):
        return value  # a list or null: the type error below names it
    key = label_key(value)
    if key in label_map:
        return label_map[key]
    if isinstance(value, str) and not _is_number(value):
        raise where.error(name, f"label {_short(value)} is not in label_map {sorted(label_map)}")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True


def _class_index(classes: list[str], name: str, value: object, where: _Where) -> float:
    label = value.strip() if isinstance(value, str) else value
    if label not in classes:
        raise where.error(name, f"label {_short(value)} is not one of label_classes {classes}")
    return float(classes.index(label))


def _name(role: str, name: str, value: object, where: _Where) -> str:
    """Phases and groups are compared as strings so a JSON 1 and a TSV "1" name the same phase."""
    if value is None or isinstance(value, (dict, list)):
        raise where.error(name, f"{role} must be a string or number, got {_type_name(value)}")
    text = str(value).strip()
    if not text:
        raise where.error(name, f"empty {role}")
    return text


def _type_name(value: object) -> str:
    """JSON vocabulary, since the user wrote JSON, not Python."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
