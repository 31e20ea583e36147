"""A real ``kill -9`` in the middle of a curriculum run, then ``--resume``: the same final metrics as a run that
was never interrupted (tolerance 1e-6), and the run dir says what state it is in throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import assert_same_final_metrics, phased_config

STEPS = 60


def train(config: Path, out: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "embedtune.cli", "train", str(config), "-o", str(out), *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)


def state(run: Path) -> str:
    return json.loads((run / "state.json").read_text())["state"]


def test_kill_9_mid_run_then_resume_matches_an_uninterrupted_run(tmp_path, tiny_model_dir):
    config = phased_config(tmp_path, tiny_model_dir)
    straight = train(config, tmp_path / "straight")
    assert straight.wait(timeout=600) == 0, straight.stderr.read()

    run = tmp_path / "killed"
    victim = train(config, run)
    deadline = time.time() + 300
    while not (run / "checkpoints" / "checkpoint-40").exists():  # mid phase 2, likely mid-save
        assert victim.poll() is None, f"the run ended before it could be killed: {victim.stderr.read()}"
        assert time.time() < deadline, "no checkpoint-40 within 5 minutes"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    assert state(run) == "running" and not (run / "model").exists() and not (run / "metrics.json").exists()

    resumed = train(config, run, "--resume")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()
    assert state(run) == "done"
    expected = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    actual = json.loads((run / "metrics.json").read_text())
    assert_same_final_metrics(expected, actual, tolerance=1e-6)
    steps = [
        r["step"] for r in map(json.loads, (run / "history.jsonl").read_text().splitlines()) if r["kind"] == "train"
    ]
    assert steps == sorted(set(steps)) and steps[-1] == STEPS  # no step twice, none missing at the end


def test_a_half_written_checkpoint_is_set_aside_and_the_previous_one_resumes(tmp_path):
    from embedtune.rundir import last_complete_checkpoint

    checkpoints = tmp_path / "checkpoints"
    for step, complete in ((10, True), (20, True), (30, False)):
        folder = checkpoints / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"partial")
        if complete:
            (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (checkpoints / "checkpoint-20" / "trainer_state.json").write_text('{"global_step": 2')  # cut mid-write
    assert last_complete_checkpoint(checkpoints) == checkpoints / "checkpoint-10"
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "checkpoint-10",
        "checkpoint-20.incomplete",
        "checkpoint-30.incomplete",
    ]
