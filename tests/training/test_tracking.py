"""training.report_to: trackers are checked up front, follow training, and get the final metrics and intervals."""

from __future__ import annotations

import pytest
from helpers import run_config
from transformers import TrainerCallback

from embedtune.config import parse_config
from embedtune.errors import UserError
from embedtune.pipeline import run_training


def test_trackers_are_checked_before_the_run(monkeypatch):
    from transformers.integrations import integration_utils

    from embedtune.training.tracking import check_trackers

    monkeypatch.setattr(integration_utils, "get_available_reporting_integrations", lambda: ["tensorboard"])
    check_trackers(["tensorboard"])
    with pytest.raises(UserError, match=r"training.report_to: mlflow is not installed \(pip install mlflow\)"):
        check_trackers(["mlflow"])
    with pytest.raises(UserError, match="did you mean 'wandb'"):
        check_trackers(["wandbb"])


class Recorder(TrainerCallback):
    """Stands in for a tracker integration: records the events it gets."""

    events: list[tuple[str, dict]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        Recorder.events.append(("log", dict(logs or {})))

    def on_train_end(self, args, state, control, **kwargs):
        Recorder.events.append(("end", {}))


def test_the_tracker_gets_training_logs_then_the_final_metrics_with_intervals_then_the_end(
    monkeypatch, tmp_path, tiny_model_dir
):
    from transformers.integrations import integration_utils

    monkeypatch.setitem(integration_utils.INTEGRATION_TO_CALLBACK, "tensorboard", Recorder)
    monkeypatch.setattr(integration_utils, "get_available_reporting_integrations", lambda: ["tensorboard"])
    monkeypatch.setattr(Recorder, "events", [])
    raw = run_config(tmp_path, tiny_model_dir)
    raw["training"] = {**raw.get("training", {}), "report_to": ["tensorboard"], "max_steps": 4, "logging_steps": 2}
    run_training(parse_config(raw), tmp_path / "run")
    kinds = [kind for kind, _ in Recorder.events]
    assert kinds[-2:] == ["log", "end"] and kinds.count("end") == 1
    assert any("loss" in logs for kind, logs in Recorder.events[:-2])  # training steps reached it
    final = Recorder.events[-2][1]
    name = next(key for key in final if key.startswith("final/"))
    metric = name.removeprefix("final/")
    assert {f"baseline/{metric}", f"delta/{metric}", f"delta/{metric}_low", f"delta/{metric}_high"} <= set(final)
