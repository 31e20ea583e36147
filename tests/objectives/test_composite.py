"""Composite objectives: exact scheduled weights, per-component history, balance warnings, NaN naming, regularizers."""

from __future__ import annotations

import json

import pydantic
import pytest
import torch
from helpers import run_config
from torch import nn

from embedtune.config import LOSSES, WeightSchedule, parse_config
from embedtune.errors import ConfigError, NonFiniteLossError
from embedtune.objectives.composite import CompositeLoss, component_shares
from embedtune.objectives.regularizers import IsotropyLoss, VarianceLoss
from embedtune.objectives.schedule import weight_at
from embedtune.pipeline import run_training
from embedtune.training.composite_monitor import CompositeMonitor


def test_step_schedule_switches_weights_at_the_boundary_epoch():
    # the balanced recipe: epochs 1-10 STS 2.0, then 3.0
    schedule = WeightSchedule(kind="step", start=10, to=3.0)
    assert [weight_at(2.0, schedule, 0, e) for e in (0.0, 5.5, 9.99, 10.0, 14.0)] == [2.0, 2.0, 2.0, 3.0, 3.0]


def test_linear_schedule_interpolates_over_steps_and_holds_after():
    schedule = WeightSchedule(kind="linear", start=100, end=300, to=1.0, unit="step")
    weights = [weight_at(0.5, schedule, step, 0.0) for step in (0, 100, 150, 200, 300, 1000)]
    assert weights == pytest.approx([0.5, 0.5, 0.625, 0.75, 1.0, 1.0])
    assert weight_at(0.7, WeightSchedule(), 999, 99.0) == 0.7


@pytest.mark.parametrize(
    "schedule, message",
    [
        ({"kind": "step"}, "needs 'to'"),
        ({"kind": "linear", "to": 1.0, "start": 5, "end": 5}, "end > start"),
        ({"kind": "step", "to": 1.0, "end": 5}, "linear schedules only"),
    ],
)
def test_bad_schedules_are_rejected(schedule, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        WeightSchedule(**schedule)


def composite_config(components: list[dict]) -> dict:
    return {"name": "composite", "components": components}


@pytest.mark.parametrize(
    "loss, message",
    [
        (composite_config([]), "at least one component"),
        (
            composite_config([{"name": "a", "loss": {"name": "cosine"}}, {"name": "a", "loss": {"name": "cosent"}}]),
            "unique",
        ),
        (composite_config([{"name": "a", "loss": {"name": "cached_mnrl"}}]), "cannot be a component"),
        # logged under its name, it overwrote the history record's step / total loss
        (composite_config([{"name": "step", "loss": {"name": "cosine"}}]), "'step' is a field of history.jsonl"),
        (composite_config([{"name": "loss", "loss": {"name": "cosine"}}]), "'loss' is a field of history.jsonl"),
        (
            {"name": "cosine", "components": [{"name": "a", "loss": {"name": "cosine"}}]},
            "does not apply to loss cosine",
        ),
    ],
)
def test_bad_composites_are_rejected(loss, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        LOSSES.validate(loss)


def test_a_regularizer_alone_is_rejected(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "isotropy"})
    with pytest.raises(ConfigError, match="loss.name: isotropy is a regularizer"):
        parse_config(raw)
    raw["loss"] = {"name": "cosent"}
    raw["data"]["tasks"] = [{"name": "reg", "data": raw["data"]["train"], "loss": {"name": "variance"}}]
    with pytest.raises(ConfigError, match="data.tasks.0.loss.name: variance is a regularizer"):
        parse_config(raw)


class Constant(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def compute_loss_from_embeddings(self, embeddings, labels):
        return embeddings[0].sum() * 0 + self.value


def toy_composite(values: dict[str, float], weights: dict[str, float]) -> CompositeLoss:
    model = nn.Linear(2, 2)

    def encode(features):
        return {"sentence_embedding": model(features["x"])}

    encoder = nn.Module()
    encoder.forward = encode  # type: ignore[method-assign]
    encoder.add_module("linear", model)
    return CompositeLoss(encoder, {n: Constant(v) for n, v in values.items()}, weights)


def test_forward_returns_weighted_components_and_keeps_raw_means():
    loss = toy_composite({"a": 2.0, "b": 0.5}, {"a": 1.5, "b": 4.0})
    features = [{"x": torch.ones(3, 2)}, {"x": torch.zeros(3, 2)}]
    out = loss(features, None)
    assert {k: float(v.detach()) for k, v in out.items()} == {"a": 3.0, "b": 2.0}
    assert loss.pop_raw_means() == {"a": 2.0, "b": 0.5}
    assert loss.pop_raw_means() == {}
    assert component_shares(loss.last_weighted) == pytest.approx({"a": 0.6, "b": 0.4})


def test_non_finite_component_is_named_with_its_step():
    loss = toy_composite({"sts": 1.0, "isotropy": float("nan")}, {"sts": 1.0, "isotropy": 1.0})
    loss.set_progress(17, 0.5)
    with pytest.raises(NonFiniteLossError, match="'isotropy' is nan at step 17"):
        loss([{"x": torch.ones(2, 2)}], None)


def test_balance_monitor_warns_once_when_a_component_dominates(caplog):
    loss = toy_composite({"big": 9.0, "small": 1.0}, {"big": 1.0, "small": 1.0})
    monitor = CompositeMonitor(loss, max_share=0.6, window=4)
    state = type("State", (), {"global_step": 0, "epoch": 0.0})()
    for step in range(6):
        state.global_step = step
        monitor.on_step_begin(None, state, None)
        loss([{"x": torch.ones(2, 2)}], None)
        monitor.on_step_end(None, state, None)
    assert len(monitor.warnings) == 1 and "'big' is 90%" in monitor.warnings[0]
    fields = monitor.record_fields()
    assert fields["big_share"] == pytest.approx(0.9) and fields["small_raw"] == 1.0 and fields["big_weight"] == 1.0


def test_a_step_without_a_composite_forward_adds_no_shares():
    """Multi-task: at steps where another task's batch ran, the last composite forward's shares were counted again."""
    loss = toy_composite({"big": 9.0, "small": 1.0}, {"big": 1.0, "small": 1.0})
    monitor = CompositeMonitor(loss, max_share=0.6, window=4)
    state = type("State", (), {"global_step": 0, "epoch": 0.0})()
    loss([{"x": torch.ones(2, 2)}], None)
    monitor.on_step_end(None, state, None)
    monitor.on_step_end(None, state, None)  # another task's step: no composite forward
    assert len(monitor.recent) == 1 and len(monitor.since_log) == 1


def test_isotropy_separates_spread_from_collapsed_and_ignores_scale():
    torch.manual_seed(0)
    spread = torch.randn(512, 8)
    collapsed = torch.randn(1, 8) + 0.05 * torch.randn(512, 8)
    loss = IsotropyLoss(nn.Identity())
    low, high = loss.compute_loss_from_embeddings([spread]), loss.compute_loss_from_embeddings([collapsed])
    assert float(low) < 0.1 < float(high)
    assert float(loss.compute_loss_from_embeddings([spread * 100])) == pytest.approx(float(low), rel=1e-4)


def test_variance_hinge_is_zero_when_spread_and_positive_when_collapsed():
    torch.manual_seed(0)
    loss = VarianceLoss(nn.Identity(), target_std=0.3)
    assert float(loss.compute_loss_from_embeddings([torch.randn(256, 8)])) == 0.0
    assert float(loss.compute_loss_from_embeddings([torch.ones(256, 8) + 0.01 * torch.randn(256, 8)])) > 0.2


def test_composite_run_logs_each_component_raw_weight_and_share(tmp_path, tiny_model_dir):
    loss = composite_config(
        [
            {
                "name": "sts",
                "loss": {"name": "cosine"},
                "weight": 2.0,
                "schedule": {"kind": "step", "start": 4, "to": 3.0, "unit": "step"},
            },
            {"name": "iso", "loss": {"name": "isotropy"}, "weight": 0.5},
            {"name": "var", "loss": {"name": "variance"}, "weight": 1.0},
        ]
    )
    loss.update(balance_share=0.3, balance_window=2)  # three components: one always holds >= 1/3 on average
    raw = run_config(tmp_path, tiny_model_dir, loss=loss, training={"logging_steps": 1})
    run_training(parse_config(raw), tmp_path / "run")
    assert "of the total over the last 2 steps" in (tmp_path / "run" / "report.md").read_text()
    records = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    train = [r for r in records if r["kind"] == "train"]
    # start 4 (steps): the first 4 optimizer steps (global_step 0-3 when they begin) use 2.0, later ones 3.0
    assert [r["sts_weight"] for r in train] == [2.0, 2.0, 2.0, 2.0, 3.0, 3.0]
    for r in train:
        assert r["sts"] == pytest.approx(r["sts_weight"] * r["sts_raw"], abs=2e-4)
        assert r["loss"] == pytest.approx(r["sts"] + r["iso"] + r["var"], abs=1e-3)
        assert sum(r[f"{n}_share"] for n in ("sts", "iso", "var")) == pytest.approx(1.0)
