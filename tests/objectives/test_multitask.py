"""Multi-task training: batches per task through each task's loss, fixed or uncertainty weights, per-task history."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import NLI_CLASSES, Captured, groups_by_name, run_config, write_nli, write_pairs

from embedtune.config import parse_config
from embedtune.errors import ConfigError, NonFiniteLossError
from embedtune.objectives.multitask import TaskLoss
from embedtune.pipeline import run_training


class Fixed(torch.nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = torch.nn.Parameter(torch.tensor(value))
        self.model = torch.nn.Identity()

    def forward(self, features, labels):
        return self.value * 1.0


def test_fixed_and_uncertainty_weighting():
    fixed = TaskLoss("sts", Fixed(2.0), weight=1.5)
    assert float(fixed([], None)) == pytest.approx(3.0) and fixed.effective_weight() == 1.5
    learned = TaskLoss("nli", Fixed(2.0), weight=1.0, uncertainty=True)
    assert float(learned([], None)) == pytest.approx(1.0)  # s = 0: 0.5 * e^0 * 2 + 0
    with torch.no_grad():
        learned.log_variance.fill_(1.0)
    assert float(learned([], None)) == pytest.approx(0.5 * torch.exp(torch.tensor(-1.0)).item() * 2 + 0.5)
    assert learned.effective_weight() == pytest.approx(0.5 * torch.exp(torch.tensor(-1.0)).item())
    assert learned.pop_raw_mean() == pytest.approx(2.0) and learned.pop_raw_mean() is None


def test_non_finite_task_loss_names_the_task():
    task = TaskLoss("nli", Fixed(float("inf")))
    task.step = 9
    with pytest.raises(NonFiniteLossError, match="the loss of task 'nli' is inf at step 9"):
        task([], None)


def multitask_config(tmp_path, model_dir, **training) -> dict:
    raw = run_config(tmp_path, model_dir, loss={"name": "cosine"}, training={"max_steps": 8, "logging_steps": 2})
    nli = write_nli(tmp_path / "nli.tsv", repeat=4)
    raw["data"]["tasks"] = [
        {
            "name": "nli",
            "data": {"path": str(nli), "columns": {"label": "entailment"}, "label_classes": NLI_CLASSES},
            "loss": {"name": "softmax"},
            "weight": 0.5,
        },
        {
            "name": "para",
            "data": {
                "path": str(write_pairs(tmp_path / "para.tsv", n=32, seed=5, scored=False)),
                "columns": {"label": "label"},
            },
            "loss": {"name": "mnrl"},
        },
    ]
    raw["training"].update(training)
    return raw


@pytest.mark.parametrize("weighting", ["fixed", "uncertainty"])
def test_tasks_train_one_shared_encoder_and_log_each_task(tmp_path, tiny_model_dir, weighting):
    raw = multitask_config(tmp_path, tiny_model_dir, task_sampling="round_robin", task_weighting=weighting)
    result = run_training(parse_config(raw), tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    train = [r for r in records if r["kind"] == "train" and r["step"] > 1]
    logged = {key for r in train for key in r if key.startswith("task_")}
    assert {"task_main_loss", "task_nli_loss", "task_para_loss", "task_nli_weight"} <= logged
    if weighting == "fixed":
        assert all(r["task_nli_weight"] == 0.5 and r["task_main_weight"] == 1.0 for r in train)
    else:
        assert any(r["task_nli_weight"] != 0.25 for r in train[1:])  # learned: moves away from 0.5 * e^0
    assert result.metrics["final"]


def test_a_tasks_composite_loss_follows_its_weight_schedule(tmp_path, tiny_model_dir):
    from types import SimpleNamespace

    from embedtune.data.readers import load_pairs
    from embedtune.modeling.load import load_model
    from embedtune.objectives.composite import CompositeLoss
    from embedtune.training.objective import build_objective

    raw = multitask_config(tmp_path, tiny_model_dir)
    schedule = {"kind": "step", "to": 0.0, "start": 2, "unit": "step"}
    raw["data"]["tasks"][1]["loss"] = {
        "name": "composite",
        "components": [{"name": "ranking", "loss": {"name": "mnrl"}, "weight": 1.0, "schedule": schedule}],
    }
    config = parse_config(raw)
    tasks = [load_pairs(task.data) for task in config.data.tasks]
    objective = build_objective(config, load_model(str(tiny_model_dir)), load_pairs(config.data.train), tasks, [])
    composite = next(m for m in objective.parameters.modules() if isinstance(m, CompositeLoss))
    for monitor in objective.monitors:
        monitor.on_step_begin(None, SimpleNamespace(global_step=5, epoch=0.5), None)
    assert composite.weights() == {"ranking": 0.0}  # step 5 is past the step at 2; it stayed 1.0 before


def test_tasks_validate_names_and_do_not_combine_with_a_curriculum(tmp_path, tiny_model_dir):
    raw = multitask_config(tmp_path, tiny_model_dir)
    raw["data"]["tasks"][1]["name"] = "main"
    with pytest.raises(ConfigError, match="not 'main'"):
        parse_config(raw)
    raw = multitask_config(tmp_path, tiny_model_dir)
    raw["training"]["curriculum"] = {"phases": [{"phase": 1}]}
    with pytest.raises(ConfigError, match="cannot be combined"):
        parse_config(raw)
    raw = multitask_config(tmp_path, tiny_model_dir)
    raw["data"]["tasks"][0]["loss"] = {"name": "cosine"}
    with pytest.raises(ConfigError, match="holds classes rows"):
        run_training(parse_config(raw), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_uncertainty_log_variances_have_their_own_group_and_move_at_an_encoder_lr(tmp_path, tiny_model_dir):
    raw = multitask_config(tmp_path, tiny_model_dir, task_weighting="uncertainty", lr=2e-5, weight_decay=0.01)
    run_training(parse_config(raw), tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    last = [r for r in records if r["kind"] == "train"][-1]
    # 0.5 * e^-s: s moves ~0.01 in 6 steps at its own lr; at the encoder's 2e-5 it moved ~1e-4 (weight change 3e-5)
    assert abs(last["task_nli_weight"] - 0.25) > 0.001


def test_uncertainty_log_variances_reach_the_optimizer_without_decay(tmp_path, tiny_model_dir, trainer_seen):
    raw = multitask_config(tmp_path, tiny_model_dir, task_weighting="uncertainty", lr=2e-5, task_weighting_lr=0.02)
    with pytest.raises(Captured):
        run_training(parse_config(raw), tmp_path / "run")
    groups = groups_by_name(trainer_seen)
    variances = {name: group for name, group in groups.items() if name.endswith("log_variance")}
    assert len(variances) == 3 and set(variances.values()) == {(0.02, 0.0)}
    assert all(lr == pytest.approx(2e-5) for name, (lr, _) in groups.items() if name not in variances)


def test_uncertainty_weighting_with_a_head_lr_keeps_the_log_variances_in_their_own_group(
    tmp_path, tiny_model_dir, trainer_seen
):
    """No head parameters besides the learned task weights (the NLI task and its classifier left out)."""
    settings = {"task_weighting": "uncertainty", "head_lr": 1e-3, "task_weighting_lr": 0.02}
    raw = multitask_config(tmp_path, tiny_model_dir, **settings)
    raw["data"]["tasks"] = [task for task in raw["data"]["tasks"] if task["name"] != "nli"]
    with pytest.raises(Captured):
        run_training(parse_config(raw), tmp_path / "run")
    variances = {name: group for name, group in groups_by_name(trainer_seen).items() if name.endswith("log_variance")}
    assert len(variances) == 2 and set(variances.values()) == {(0.02, 0.0)}


def test_a_resume_restores_what_the_losses_learned(tmp_path, tiny_model_dir):
    """The learned log-variances and the NLI classifier are the losses' own parameters, outside the model: a
    checkpoint holds them too, so a run resumed mid-way logs the task weights the uninterrupted one does (they
    restarted from their initial values while the optimizer's moments were restored)."""
    from helpers import simulate_crash

    raw = multitask_config(tmp_path, tiny_model_dir, task_weighting="uncertainty", task_weighting_lr=0.5)
    raw["training"].update(keep_checkpoints=True, save_total_limit=5, save_best_model=False)
    run_training(parse_config(raw), tmp_path / "straight")
    run = tmp_path / "crashed"
    run_training(parse_config(raw), run)
    simulate_crash(run, keep_checkpoints=1)  # checkpoint-3
    assert (run / "checkpoints" / "checkpoint-3" / "loss_state.pt").exists()
    run_training(parse_config(raw), run, resume=True)

    def weights(path):
        records = [json.loads(line) for line in (path / "history.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k.endswith("_weight")} for r in records if r["kind"] == "train"]

    straight, resumed = weights(tmp_path / "straight"), weights(run)
    assert straight[-1]["task_main_weight"] != straight[0]["task_main_weight"]  # learned before the crash
    assert len(resumed) == len(straight)
    for after, before in zip(resumed, straight):
        assert after == pytest.approx(before)
