"""Curriculum training: phases in order, per-phase epochs and schedules, errors that name the phase."""

from __future__ import annotations

import json

import pytest
from helpers import assert_same_final_metrics, run_config, simulate_crash

from embedtune.config import CurriculumConfig, parse_config
from embedtune.data.pairs import PairData
from embedtune.errors import ConfigError, DataError
from embedtune.pipeline import run_training
from embedtune.training.curriculum import CurriculumPlan, optimizer_steps_per_phase, restart_multipliers


def toy_data(phases: list[str]) -> PairData:
    n = len(phases)
    return PairData("toy.tsv", [f"a{i}" for i in range(n)], [f"b{i % 3}" for i in range(n)], phases=phases)


def plan_for(phases: list[str], spec: list[dict], schedule: str = "continuous") -> CurriculumPlan:
    return CurriculumPlan.build(toy_data(phases), CurriculumConfig(phases=spec, schedule=schedule))


def test_batches_follow_phase_order_and_epochs():
    plan = plan_for(
        ["1"] * 6 + ["2"] * 4 + ["3"] * 2, [{"phase": 1, "epochs": 2}, {"phase": 2}, {"phase": 3, "epochs": 3}]
    )
    order = plan.batches(batch_size=2, seed=0, texts=None)
    assert [name for name, _ in order] == ["1"] * 6 + ["2"] * 2 + ["3"] * 3
    first_epoch = sorted(row for _, rows in order[:3] for row in rows)
    assert first_epoch == [0, 1, 2, 3, 4, 5]
    assert all(row in (10, 11) for _, rows in order[-3:] for row in rows)


def test_order_is_a_function_of_the_seed():
    plan = plan_for(["1"] * 8 + ["2"] * 8, [{"phase": 1}, {"phase": 2}])
    assert plan.batches(4, 3, None) == plan.batches(4, 3, None)
    assert plan.batches(4, 3, None) != plan.batches(4, 4, None)


def test_no_duplicate_texts_in_a_batch():
    data = toy_data(["1"] * 9)
    plan = CurriculumPlan.build(data, CurriculumConfig(phases=[{"phase": 1}]))
    texts = list(zip(data.texts1, data.texts2))
    order = plan.batches(batch_size=4, seed=0, texts=texts)
    for _, rows in order:
        seen = [text for row in rows for text in texts[row]]
        assert len(seen) == len(set(seen))
    assert sorted(row for _, rows in order for row in rows) == list(range(9))


def test_phase_without_pairs_is_an_error_naming_it():
    with pytest.raises(ConfigError, match="phase '3' has no pairs"):
        plan_for(["1", "2"], [{"phase": 1}, {"phase": 2}, {"phase": 3}])


def test_unlisted_phase_and_missing_phase_column_are_errors():
    with pytest.raises(ConfigError, match=r"\['2'\]"):
        plan_for(["1", "2"], [{"phase": 1}])
    with pytest.raises(DataError, match="columns.phase"):
        CurriculumPlan.build(PairData("x.tsv", ["a"], ["b"]), CurriculumConfig(phases=[{"phase": 1}]))


def test_per_phase_lr_needs_the_restart_schedule():
    with pytest.raises(ValueError, match="restart"):
        CurriculumConfig(phases=[{"phase": 1, "lr": 1e-4}])


def test_restart_schedule_warms_up_and_decays_within_each_phase():
    plan = plan_for(["1"] * 4 + ["2"] * 4, [{"phase": 1}, {"phase": 2, "lr": 4e-5}], schedule="restart")
    factor = restart_multipliers([10, 10], plan.phases, base_lr=2e-5, shape="linear", default_warmup=0.2)
    assert factor(0) < factor(2) and factor(2) == pytest.approx(1.0)  # warmup to the base peak
    assert factor(9) < 0.2  # decayed by the end of phase 1
    assert factor(12) == pytest.approx(2.0)  # phase 2 restarts at its own peak (4e-5 / 2e-5)
    assert factor(11) < factor(12)


def curriculum_run_config(tmp_path, tiny_model_dir, strategy=None, loss=None, scored=True, schedule="continuous"):
    raw = run_config(tmp_path, tiny_model_dir, strategy, loss, scored)
    lines = (tmp_path / "train.tsv").read_text().splitlines()
    rows = [f"{row}\t{1 + i % 3}" for i, row in enumerate(lines[1:])]
    (tmp_path / "train.tsv").write_text(lines[0] + "\tphase\n" + "\n".join(rows) + "\n")
    raw["data"]["train"]["columns"]["phase"] = "phase"
    phases = [{"phase": 1, "epochs": 1}, {"phase": 2, "epochs": 1}, {"phase": 3, "epochs": 2}]
    if schedule == "restart":
        phases[2]["lr"] = 5e-3
    raw["training"].pop("max_steps")
    raw["training"].update(logging_steps=1, curriculum={"phases": phases, "schedule": schedule})
    return raw


@pytest.mark.parametrize(
    ("strategy", "loss", "scored"),
    [
        ({"name": "full"}, {"name": "cosent"}, True),
        ({"name": "lora", "lora_r": 4}, {"name": "mnrl"}, False),
        ({"name": "frozen"}, {"name": "contrastive"}, False),
    ],
    ids=["full-cosent", "lora-mnrl", "frozen-contrastive"],
)
def test_curriculum_run_trains_phases_in_order(tmp_path, tiny_model_dir, strategy, loss, scored):
    raw = curriculum_run_config(tmp_path, tiny_model_dir, strategy, loss, scored)
    run_training(parse_config(raw), tmp_path / "run")
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    phases = [row["phase"] for row in history if row["kind"] == "train"]
    assert phases == sorted(phases) and set(phases) == {"1", "2", "3"}
    assert (tmp_path / "run" / "model" / "modules.json").exists()


def test_with_gradient_accumulation_every_step_the_trainer_runs_is_inside_a_phases_schedule():
    spec = [{"phase": "1", "epochs": 1}, {"phase": "2", "epochs": 1}]
    plan = plan_for(["1"] * 6 + ["2"] * 6, spec, "restart")
    order = [batch for epoch in plan.epoch_batches(2, 0, None) for batch in epoch]  # 3 batches a phase
    steps = optimizer_steps_per_phase(order, plan.phases, 2)
    assert steps == [1, 2] and sum(steps) == 3  # the trainer runs ceil(6 / 2) steps; the 2nd ends in phase 2
    factor = restart_multipliers(steps, plan.phases, 1e-3, "linear", 0.0)
    assert all(factor(step) > 0 for step in range(3))  # the last step trained at lr 0 before


def test_max_steps_beyond_the_curriculum_ends_with_it(tmp_path, tiny_model_dir, caplog):
    """A second trainer pass would replay phase 1 logged as the last phase, at lr 0."""
    raw = curriculum_run_config(tmp_path, tiny_model_dir, schedule="restart")
    run_training(parse_config(raw), tmp_path / "plain")
    plain = [json.loads(line) for line in (tmp_path / "plain" / "history.jsonl").read_text().splitlines()]
    raw["training"]["max_steps"] = 1000
    with caplog.at_level("WARNING", logger="embedtune"):
        run_training(parse_config(raw), tmp_path / "capped")
    capped = [json.loads(line) for line in (tmp_path / "capped" / "history.jsonl").read_text().splitlines()]
    steps = lambda rows: [row["step"] for row in rows if row["kind"] == "train"]  # noqa: E731
    assert steps(capped) == steps(plain) and "beyond the curriculum" in caplog.text
    assert all(row["lr"] > 0 for row in capped if row["kind"] == "train")


def test_restart_schedule_shows_in_the_logged_learning_rate(tmp_path, tiny_model_dir):
    raw = curriculum_run_config(tmp_path, tiny_model_dir, schedule="restart")
    raw["training"]["warmup_ratio"] = 0.0
    run_training(parse_config(raw), tmp_path / "run")
    rows = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    train = [row for row in rows if row["kind"] == "train"]
    first_of_phase = {}
    for row in train:
        first_of_phase.setdefault(row["phase"], row["lr"])
    last_of_phase_1 = [row["lr"] for row in train if row["phase"] == "1"][-1]
    assert first_of_phase["2"] > last_of_phase_1  # restarted
    assert first_of_phase["3"] == pytest.approx(5e-3)  # phase 3's own peak lr


def test_resume_mid_curriculum_matches_an_uninterrupted_run(tmp_path, tiny_model_dir):
    raw = curriculum_run_config(tmp_path, tiny_model_dir, schedule="restart")
    raw["training"].update(save_total_limit=5, keep_checkpoints=True)
    straight = run_training(parse_config(raw), tmp_path / "straight")
    run = tmp_path / "crashed"
    run_training(parse_config(raw), run)
    simulate_crash(run, keep_checkpoints=1)  # a crash after the first checkpoint, in phase 2
    resumed = run_training(parse_config(raw), run, resume=True)
    assert_same_final_metrics(straight.metrics, resumed.metrics)


def test_an_epoch_is_one_phase_epoch_in_history_evaluation_and_checkpoints(tmp_path, tiny_model_dir):
    raw = curriculum_run_config(tmp_path, tiny_model_dir)  # phases 1, 1 and 2 epochs: 4 epochs of 2 steps
    raw["training"].pop("eval_steps")  # evaluate and save once per epoch
    raw["training"].update(keep_checkpoints=True, save_total_limit=10)
    run_training(parse_config(raw), tmp_path / "run")
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    train = [row for row in history if row["kind"] == "train"]
    assert [row["epoch"] for row in train] == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])
    assert [row["step"] for row in history if row["kind"] == "eval"] == [2, 4, 6, 8]
    checkpoints = sorted(int(p.name.split("-")[1]) for p in (tmp_path / "run" / "checkpoints").glob("checkpoint-*"))
    assert checkpoints == [2, 4, 6, 8]


def test_progressive_unfreezing_follows_curriculum_epochs(tmp_path, tiny_model_dir):
    import torch
    from sentence_transformers import SentenceTransformer

    raw = curriculum_run_config(tmp_path, tiny_model_dir)
    raw["training"]["curriculum"]["phases"] = [{"phase": p, "epochs": e} for p, e in ((1, 2), (2, 2), (3, 1))]
    raw["training"]["unfreeze"] = [{"epoch": 0, "layers": 1}, {"epoch": 3, "layers": "all"}]
    run_training(parse_config(raw), tmp_path / "run")
    before = SentenceTransformer(str(tiny_model_dir), device="cpu").state_dict()
    after = SentenceTransformer(str(tmp_path / "run" / "model"), device="cpu").state_dict()
    changed = {key for key in before if not torch.equal(before[key], after[key])}
    assert any(".layer.0." in key for key in changed)  # unfrozen at the 4th of 5 curriculum epochs


def test_the_restart_schedule_warms_each_phase_up_over_warmup_steps(tmp_path, tiny_model_dir):
    raw = curriculum_run_config(tmp_path, tiny_model_dir, schedule="restart")
    raw["training"]["warmup_steps"] = 1
    run_training(parse_config(raw), tmp_path / "run")
    rows = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    phase_3 = [row["lr"] for row in rows if row["kind"] == "train" and row["phase"] == "3"]
    assert phase_3[0] == pytest.approx(2.5e-3)  # half way up to phase 3's peak 5e-3 after its first step
    assert max(phase_3) == pytest.approx(5e-3)
