"""Every bad input of tests/bad_input_cases.py through the real CLI: exit code 2, one line naming the culprit, no
traceback, and the folder it ran in byte-for-byte as before (issue 12). docs/bad-inputs.md lists the same cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_input_cases import CASES, Env, Runs, message_lines, snapshot
from helpers import ROOT, assert_one_line_error, cli

DOC = ROOT / "docs" / "bad-inputs.md"


@pytest.fixture(scope="session")
def runs(tmp_path_factory, tiny_model_dir) -> Runs:
    return Runs(tmp_path_factory.mktemp("runs"), tiny_model_dir)


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=case.id, marks=[pytest.mark.xfail(strict=True)] if case.xfail else []) for case in CASES],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(monkeypatch, capsys, tmp_path, tiny_model_dir, runs, case):
    monkeypatch.chdir(tmp_path)
    args = case.build(Env(tmp_path, tiny_model_dir, runs))
    before = snapshot(tmp_path)
    code, _, err = cli(monkeypatch, capsys, *args)
    assert_one_line_error(code, "\n".join(message_lines(err)), case.message)
    assert snapshot(tmp_path) == before, "the command wrote, changed or removed files"
    assert not [path for path in case.absent if Path(path).exists()]


def test_cases_have_unique_ids_and_every_one_is_in_the_doc():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in ids if f"(`{name}`)" not in text]
    assert not missing, f"not in {DOC.name}; run scripts/bad_inputs_table.py: {missing}"
