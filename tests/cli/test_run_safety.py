"""A run never loses a user's file and its record stays true: --overwrite, unwritable outputs, file modes, Ctrl-C,
resume from the saved config, finished runs, checkpoint clean-up (issue 12, sections 1 and 2)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import TOPICS, assert_one_line_error, cli, phased_config, run_config, simulate_crash

from embedtune.config import parse_config
from embedtune.errors import ConfigError, UserError
from embedtune.pipeline import run_training


def write_config(tmp_path: Path, raw: dict, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture
def no_model_loading(monkeypatch):
    """Fail the test if any model is loaded: the checks under test must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the output was checked")

    monkeypatch.setattr("embedtune.pipeline.load_model", refuse)
    monkeypatch.setattr("embedtune.modeling.load.load_model", refuse)


# 1. Never lose a user's file


def test_overwrite_replaces_an_earlier_run_but_keeps_a_users_file_in_it(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir)
    run = tmp_path / "run"
    run_training(parse_config(raw), run)
    (run / "notes.txt").write_text("my notes")
    (run / "report.md").write_text("stale")
    run_training(parse_config(raw), run, overwrite=True)
    assert (run / "notes.txt").read_text() == "my notes"
    assert (run / "report.md").read_text() != "stale" and (run / "model").is_dir()


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path, tiny_model_dir, no_model_loading):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "data.tsv").write_text("precious")
    with pytest.raises(UserError, match="not an embedtune run dir"):
        run_training(parse_config(run_config(tmp_path, tiny_model_dir)), folder, overwrite=True)
    assert (folder / "data.tsv").read_text() == "precious"


def test_overwrite_of_the_working_folder_is_refused_before_anything_loads(
    monkeypatch, capsys, tmp_path, tiny_model_dir, no_model_loading
):
    config = write_config(tmp_path, run_config(tmp_path, tiny_model_dir))
    (tmp_path / "state.json").write_text('{"state": "done"}')  # even when it looks like a run dir
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(monkeypatch, capsys, "train", config.name, "-o", ".", "--overwrite")
    assert_one_line_error(code, err, "refuses the working folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_overwrite_refuses_a_folder_holding_an_input_or_the_config(tmp_path, tiny_model_dir, no_model_loading):
    data = tmp_path / "project"
    data.mkdir()
    raw = run_config(data, tiny_model_dir)
    (data / "state.json").write_text('{"state": "done"}')
    with pytest.raises(UserError, match="holding an input"):
        run_training(parse_config(raw), data, overwrite=True)
    config = write_config(tmp_path / "project", {**raw, "data": {**raw["data"], "train": raw["data"]["train"]}})
    with pytest.raises(UserError, match="holding an input"):
        run_training(parse_config(yaml.safe_load(config.read_text())), data, overwrite=True, config_file=config)
    assert (data / "train.tsv").exists() and config.exists()


def test_overwrite_refuses_the_home_folder(monkeypatch, tmp_path, tiny_model_dir, no_model_loading):
    home = tmp_path / "home"
    home.mkdir()
    (home / "state.json").write_text('{"state": "done"}')
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(UserError, match="home folder"):
        run_training(parse_config(run_config(tmp_path, tiny_model_dir)), home, overwrite=True)


def test_an_unwritable_output_fails_before_the_model_loads(
    monkeypatch, capsys, tmp_path, tiny_model_dir, no_model_loading
):
    config = write_config(tmp_path, run_config(tmp_path, tiny_model_dir))
    code, _, err = cli(monkeypatch, capsys, "train", str(config), "-o", "/proc/embedtune-x")
    assert_one_line_error(code, err, "/proc/embedtune-x", "cannot write")


def test_eval_json_to_an_unwritable_place_fails_in_one_line_before_evaluating(
    monkeypatch, capsys, tmp_path, no_model_loading
):
    data = tmp_path / "sts.tsv"
    data.write_text("sentence1\tsentence2\tscore\na b\tc d\t0.5\ne f\tg h\t0.1\n")
    code, _, err = cli(monkeypatch, capsys, "eval", "--data", str(data), "--json", "/proc/embedtune-x/o.json")
    assert_one_line_error(code, err, "cannot write")


def test_mine_to_an_unwritable_place_fails_in_one_line_before_mining(monkeypatch, capsys, tmp_path):
    rows = [f"{text}\t{topic}" for topic, texts in TOPICS.items() for text in texts]
    documents = tmp_path / "tickets.tsv"
    documents.write_text("text\tcategory\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr("embedtune.data.mining.mine_category_pairs", lambda *a, **k: pytest.fail("mined first"))
    code, _, err = cli(monkeypatch, capsys, "mine", str(documents), "-o", "/proc/embedtune-x")
    assert_one_line_error(code, err, "/proc/embedtune-x", "cannot write")


def test_a_write_error_no_command_checked_is_still_one_line(monkeypatch, capsys, tmp_path):
    def refused(path, payload):
        raise PermissionError(13, "Permission denied", str(path))

    data = tmp_path / "pairs.tsv"
    data.write_text("sentence1\tsentence2\na b\tc d\n")
    monkeypatch.setattr("embedtune.rundir.write_json_atomic", refused)
    code, _, err = cli(monkeypatch, capsys, "inspect", str(data), "--json", str(tmp_path / "report.json"))
    assert_one_line_error(code, err, "report.json", "Permission denied")


def test_files_the_run_writes_follow_the_umask(tmp_path, tiny_model_dir):
    old = os.umask(0o022)
    try:
        run_training(parse_config(run_config(tmp_path, tiny_model_dir)), tmp_path / "run")
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    unreadable = [str(p) for p in files if not stat.S_IMODE(p.stat().st_mode) & stat.S_IROTH]
    assert files and not unreadable


# 2. Interruptions and resume that keep the record true


def crashed_run(tmp_path: Path, model_dir: Path) -> tuple[dict, Path]:
    raw = run_config(tmp_path, model_dir)
    raw["training"].update(lr=5e-4, save_total_limit=3, keep_checkpoints=True)
    run = tmp_path / "run"
    run_training(parse_config(raw), run)
    simulate_crash(run, keep_checkpoints=1)
    return raw, run


def test_resume_with_other_settings_is_refused_naming_the_keys(tmp_path, tiny_model_dir):
    raw, run = crashed_run(tmp_path, tiny_model_dir)
    saved = (run / "config.yaml").read_text()
    changed = {**raw, "training": {**raw["training"], "lr": 2e-5, "max_steps": 4}}
    with pytest.raises(ConfigError, match=r"training\.lr \(0\.0005 -> 2e-05\), training\.max_steps \(6 -> 4\)"):
        run_training(parse_config(changed), run, resume=True)
    assert (run / "config.yaml").read_text() == saved


def test_resume_without_a_config_uses_the_runs_own(monkeypatch, capsys, tmp_path, tiny_model_dir):
    _, run = crashed_run(tmp_path, tiny_model_dir)
    saved = (run / "config.yaml").read_text()
    code, out, err = cli(monkeypatch, capsys, "train", "--resume", "-o", str(run))
    assert code == 0, err
    assert (run / "config.yaml").read_text() == saved
    assert json.loads((run / "state.json").read_text())["state"] == "done"


def test_resume_of_a_finished_run_is_refused_and_changes_nothing(tmp_path, tiny_model_dir, no_model_loading):
    raw = run_config(tmp_path, tiny_model_dir)
    raw["training"]["keep_checkpoints"] = True
    run = tmp_path / "run"
    (run / "state.json").parent.mkdir()
    (run / "state.json").write_text('{"state": "done"}')
    (run / "checkpoints" / "checkpoint-6").mkdir(parents=True)
    with pytest.raises(UserError, match="run is done"):
        run_training(parse_config(raw), run, resume=True)
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "state.json"]


def test_checkpoints_are_removed_when_the_run_is_done_unless_kept(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir)
    run_training(parse_config(raw), tmp_path / "lean")
    assert not (tmp_path / "lean" / "checkpoints").exists()
    raw["training"]["keep_checkpoints"] = True
    run_training(parse_config(raw), tmp_path / "kept")
    assert [p.name for p in (tmp_path / "kept" / "checkpoints").glob("checkpoint-*")] == ["checkpoint-6"]  # limit 1


def test_ctrl_c_says_where_it_stopped_and_the_command_that_resumes(tmp_path, tiny_model_dir):
    config = phased_config(tmp_path, tiny_model_dir)
    run = tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", "embedtune.cli", "train", str(config), "-o", str(run)]
    # A shell without job control starts background jobs with SIGINT ignored, and Python keeps an inherited
    # SIG_IGN (no KeyboardInterrupt): a suite launched with `&` or nohup would see the run ignore Ctrl-C.
    victim = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300
    while not (run / "checkpoints" / "checkpoint-20").exists():
        assert victim.poll() is None, victim.stderr.read()
        assert time.time() < deadline, "no checkpoint-20 within 5 minutes"
        time.sleep(0.02)
    victim.send_signal(signal.SIGINT)
    _, err = victim.communicate(timeout=120)
    assert victim.returncode == 130, err
    last = err.strip().splitlines()[-1]  # the progress bars are closed first, so this is the last line
    assert last.startswith("stopped: interrupted at step ") and " of 60; checkpoint-" in last, err
    resume = last.split("resume with: ", 1)[1]
    assert resume == f"embedtune train --resume -o {run}"
    state = json.loads((run / "state.json").read_text())
    assert state["state"] == "interrupted" and "interrupted at step" in state["reason"]
    resumed = subprocess.run(
        [sys.executable, "-m", "embedtune.cli", *resume.split()[1:]], env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "state.json").read_text())["state"] == "done"
