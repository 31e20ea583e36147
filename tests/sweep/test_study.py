"""Sweeps end to end on the tiny model: trials, outputs, resuming the study, failures, pruning, the constraint."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import optuna
import pytest
import yaml
from helpers import cli, run_config

from embedtune.config import load_config
from embedtune.errors import ConfigError, ResourceError
from embedtune.sweep import best_trial, open_sweep, run_worker
from embedtune.sweep import study as study_module
from embedtune.sweep.final import _trained
from embedtune.sweep.study import TrialReporter, load_study

SPACE = {
    "seed": 3,
    "trial": {"training.max_steps": 6},
    "params": {
        "training.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "training.batch_size": {"type": "categorical", "choices": [4, 8]},
    },
}


@pytest.fixture
def files(tmp_path, tiny_model_dir):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(run_config(tmp_path, tiny_model_dir)), encoding="utf-8")
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE), encoding="utf-8")
    return config, space, tmp_path / "sweep"


def rows(sweep_dir):
    with open(sweep_dir / "trials.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_sweep_writes_its_outputs_and_running_it_again_continues_the_study(files, monkeypatch, capsys):
    config, space, out = files
    code, stdout, err = cli(
        monkeypatch, capsys, "sweep", str(config), "--space", str(space), "--trials", "2", "-o", str(out)
    )
    assert code == 0, err
    first = rows(out)
    assert [r["trial"] for r in first] == ["0", "1"] and {r["state"] for r in first} == {"complete"}
    assert float(first[0]["training.lr"]) == 1e-3 and first[0]["training.batch_size"] == "8"  # trial 0: the config's
    assert "best trial" in stdout
    best = load_config(out / "best.yaml")  # runnable as is: a valid config with the best trial's values
    chosen = min(first, key=lambda r: -float(r["value"]))
    assert best.training.lr == pytest.approx(float(chosen["training.lr"]))
    assert best.training.max_steps == 6  # the trial budget
    assert "<img" in (out / "report.html").read_text(encoding="utf-8")
    assert "| trial |" in (out / "trials.md").read_text(encoding="utf-8")

    code, _, err = cli(
        monkeypatch, capsys, "sweep", str(config), "--space", str(space), "--trials", "3", "-o", str(out)
    )
    assert code == 0, err
    again = rows(out)
    assert [r["trial"] for r in again] == ["0", "1", "2"]
    assert again[:2] == first  # the earlier trials are the study's, not run again
    study = optuna.load_study(study_name=out.name, storage=f"sqlite:///{(out / 'study.db').resolve()}")
    for trial in study.trials:  # the sampler's constraint is the trial's worst drop beyond its tolerance
        assert trial.constraints == {"forgetting": trial.user_attrs["over_tolerance"]}


def test_a_sweep_dir_of_another_space_is_refused(files, monkeypatch, capsys, tmp_path):
    config, space, out = files
    open_sweep(config, space, out, 1, None, None)
    space.write_text("# a comment changes nothing\n" + space.read_text(encoding="utf-8"), encoding="utf-8")
    open_sweep(config, space, out, 1, None, None)
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**SPACE, "seed": 4}), encoding="utf-8")
    code, _, err = cli(
        monkeypatch, capsys, "sweep", str(config), "--space", str(other), "--trials", "1", "-o", str(out)
    )
    assert code == 2 and "another config or space" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "metric, way, says",
    [("toy_roc_auc", "minimize", "higher is better"), ("toy_threshold", "maximize", "a setting")],
)
def test_a_direction_against_the_metrics_is_refused(files, metric, way, says):
    config, space, out = files
    space.write_text(yaml.safe_dump({**SPACE, "metric": metric, "direction": way}), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"direction {way} for '{metric}'.*{says}"):
        open_sweep(config, space, out, 2, None, None)


def test_a_failed_trial_is_recorded_with_its_reason_and_the_sweep_goes_on(files, monkeypatch):
    config, space, out = files
    import embedtune.pipeline

    real = embedtune.pipeline.run_training

    def fails_first(config, output_dir, **kwargs):
        if output_dir.name == "0000":
            raise ResourceError("out of memory in a training batch")
        return real(config, output_dir, **kwargs)

    monkeypatch.setattr(embedtune.pipeline, "run_training", fails_first)
    sweep = open_sweep(config, space, out, 2, None, None)
    run_worker(sweep)
    study = load_study(sweep)
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]  # it counts, as in Optuna
    assert "out of memory" in study.trials[0].user_attrs["reason"]


def test_jobs_enqueue_the_defaults_once_before_the_other_workers_start(files, monkeypatch):
    """--jobs 2: worker 0 enqueues trial 0 (the defaults) before it starts worker 1, which never enqueues; both
    enqueueing on an empty study raced and could run the defaults twice."""
    import embedtune.sweep as sweep_package

    config, space, out = files
    started = []

    def start(sweep, space_path, index, jobs):
        waiting = load_study(sweep).get_trials(states=(optuna.trial.TrialState.WAITING,))
        started.append([t.user_attrs for t in waiting])
        run_worker(sweep, index)  # in this process, one after the other: its trials are in the study
        return SimpleNamespace(args=[], wait=lambda: 0, poll=lambda: 0)

    monkeypatch.setattr(sweep_package, "_start_worker", start)
    sweep_package.run_sweep(config, space, out, trials=2, jobs=2)
    assert started == [[{"defaults": True}]]
    trials = load_study(open_sweep(config, space, out, 2, None, None)).trials
    assert [t.user_attrs.get("defaults", False) for t in trials] == [True, False]


def test_a_metric_no_eval_set_measures_ends_the_sweep_at_its_first_trial(files, monkeypatch, capsys):
    config, space, out = files
    space.write_text("metric: toy_roc_acu\n" + yaml.safe_dump(SPACE), encoding="utf-8")  # a typo of toy_roc_auc
    command = ["sweep", str(config), "--space", str(space), "--trials", "3", "-o", str(out)]
    code, _, err = cli(monkeypatch, capsys, *command)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{space}:1: metric: 'toy_roc_acu' is not measured" in err and "toy_roc_auc" in err
    study = optuna.load_study(study_name=out.name, storage=f"sqlite:///{(out / 'study.db').resolve()}")
    assert len(study.trials) == 1 and "not measured" in study.trials[0].user_attrs["reason"]  # not trial after trial
    assert not (out / "trials" / "0000" / "model").exists()  # stopped after the baseline, before any training


def test_a_trial_whose_worker_died_is_failed_then_retried_with_its_params(files, monkeypatch):
    config, space, out = files
    monkeypatch.setattr(study_module, "GRACE_SECONDS", 1)
    monkeypatch.setattr(study_module, "HEARTBEAT_SECONDS", 1)
    sweep = open_sweep(config, space, out, 1, None, None)
    study = load_study(sweep)
    dead = study.ask({"training.lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)})
    study._storage.record_heartbeat(dead._trial_id)  # it ran, then its process was killed
    time.sleep(2)
    waits = []

    def sleep(seconds):  # the worker waits while a trial runs elsewhere: a dead one must not be waited for long
        waits.append(seconds)
        assert len(waits) < 10, "the worker kept waiting for the dead worker's trial"
        time.sleep(seconds)

    monkeypatch.setattr(study_module, "time", SimpleNamespace(time=time.time, sleep=sleep))
    run_worker(sweep)
    study = load_study(sweep)
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE"]
    assert "reason" not in study.trials[0].user_attrs  # died: it does not count towards --trials
    assert study.trials[1].params["training.lr"] == dead.params["training.lr"]


class FakeTrial:
    def __init__(self, prune: bool) -> None:
        self.prune, self.reported, self.user_attrs = prune, [], {}

    def report(self, value, step):
        self.reported.append((step, value))

    def should_prune(self):
        return self.prune

    def set_user_attr(self, key, value):
        self.user_attrs[key] = value


def test_the_reporter_sends_each_evaluation_and_stops_a_pruned_trial():
    class State:
        global_step = 30

    kept = FakeTrial(prune=False)
    reporter = TrialReporter(kept, "toy_roc_auc")
    reporter.on_evaluate(None, State(), None, metrics={"eval_toy_roc_auc": 0.7, "eval_loss": 1.0})
    reporter.on_evaluate(None, State(), None, metrics={"eval_other": 0.1})  # not the metric: not an evaluation
    reporter.on_evaluate(None, State(), None, metrics={"eval_toy_roc_auc": 0.8})
    assert kept.reported == [(0, 0.7), (1, 0.8)]  # Optuna's steps: the first evaluation is step 0
    pruned = FakeTrial(prune=True)
    with pytest.raises(optuna.TrialPruned):
        TrialReporter(pruned, "toy_roc_auc").on_evaluate(None, State(), None, metrics={"eval_toy_roc_auc": 0.5})
    assert "pruned at evaluation 1" in pruned.user_attrs["reason"]


@pytest.mark.parametrize("warmup, pruned", [(0, True), (1, False)])
def test_warmup_evaluations_keep_a_trials_first_evaluations_from_pruning(files, warmup, pruned):
    config, space, out = files
    space.write_text(yaml.safe_dump({**SPACE, "pruning": {"startup_trials": 1, "warmup_evaluations": warmup}}))
    study = load_study(open_sweep(config, space, out, 3, None, None))
    for value in (0.9, 0.8):  # trials that ran to the end, well above the new one at every evaluation
        earlier = study.ask()
        for step in range(3):
            earlier.report(value, step)
        study.tell(earlier, value)
    reporter = TrialReporter(study.ask(), "toy_roc_auc")
    first = {"metrics": {"eval_toy_roc_auc": 0.1}}
    if pruned:
        with pytest.raises(optuna.TrialPruned):
            reporter.on_evaluate(None, SimpleNamespace(global_step=5), None, **first)
    else:  # below the median at its first evaluation, but within the warmup; at its second it is pruned
        reporter.on_evaluate(None, SimpleNamespace(global_step=5), None, **first)
        with pytest.raises(optuna.TrialPruned):
            reporter.on_evaluate(None, SimpleNamespace(global_step=10), None, **first)


def test_a_trial_that_forgets_is_never_the_best():
    study = optuna.create_study(direction="maximize")
    lr = optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)
    for value, over in [(0.90, 0.02), (0.80, -0.01), (0.85, 0.0)]:
        trial = optuna.trial.create_trial(
            params={"training.lr": 1e-4},
            distributions={"training.lr": lr},
            value=value,
            user_attrs={"over_tolerance": over},
        )
        study.add_trial(trial)
    assert best_trial(study).value == 0.85


@pytest.mark.slow
def test_two_worker_processes_share_one_study(files):
    """Two `embedtune sweep` processes on one storage (as on two machines): one study, no trial twice."""
    config, space, out = files
    storage = f"sqlite:///{out.parent / 'shared.db'}"
    command = [sys.executable, "-m", "embedtune.cli", "sweep", str(config), "--space", str(space), "--trials", "4"]
    command += ["-o", str(out), "--storage", storage, "--study", "shared"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    workers = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
    study = optuna.load_study(study_name="shared", storage=storage)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert 4 <= len(done) <= 5  # the last trial may start on both before either finishes
    assert len({t.user_attrs["worker"] for t in done}) == 2
    assert len({t.number for t in done}) == len(done)


def test_final_trains_best_and_defaults_and_compares_them_on_the_test_suite(files, monkeypatch, capsys, tmp_path):
    config, space, out = files
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    suite = tmp_path / "test-suite.yaml"
    suite.write_text(
        yaml.safe_dump({"evaluators": [{**raw["data"]["eval"][0], "name": "toy_test"}]}), encoding="utf-8"
    )
    lr = {"type": "float", "low": 1e-4, "high": 5e-4, "log": True}  # excludes the config's 1e-3: always sampled
    params = {**SPACE["params"], "training.lr": lr}
    short = {**SPACE, "params": params, "trial": {"training.max_steps": 4}, "test": suite.name}
    space.write_text(yaml.safe_dump(short), encoding="utf-8")
    code, _, err = cli(monkeypatch, capsys, "sweep", str(config), "--space", str(space), "--final", "-o", str(out))
    assert code == 2 and "no completed trial" in err  # nothing to train before the search
    assert (
        cli(monkeypatch, capsys, "sweep", str(config), "--space", str(space), "--trials", "2", "-o", str(out))[0] == 0
    )
    code, stdout, err = cli(
        monkeypatch, capsys, "sweep", str(config), "--space", str(space), "--final", "-o", str(out)
    )
    assert code == 0, err
    best = load_config(out / "final" / "best" / "config.yaml")
    defaults = load_config(out / "final" / "defaults" / "config.yaml")
    assert load_config(out / "trials" / "0000" / "config.yaml").training.max_steps == 4
    assert best.training.max_steps == defaults.training.max_steps == 6  # the full budget, not the trials'
    assert defaults.training.lr == raw["training"]["lr"]  # the recipe's own value, not a sampled one
    record = yaml.safe_load((out / "final" / "metrics.json").read_text(encoding="utf-8"))
    assert best.training.lr == pytest.approx(record["values"]["training.lr"]) and best.training.lr <= 5e-4
    assert "toy_test" in record["final"] and "toy_test" in record["baseline"]
    assert "| toy_test |" in (out / "final" / "comparison.md").read_text(encoding="utf-8")
    assert "defaults" in stdout and "best" in stdout
    # a rerun keeps a final run trained with the same values, and trains again one whose values changed (the best
    # trial may be another after more trials)
    assert _trained(out / "final" / "best", best) and not _trained(out / "final" / "defaults", best)
    (out / "final" / "best" / "state.json").write_text('{"state": "running"}')  # killed before it ended
    assert not _trained(out / "final" / "best", best)


def test_the_outputs_hold_a_best_trial_run_elsewhere_and_mixed_choices(files, tmp_path):
    """With a shared storage the best trial's run dir may be on another machine; a choice may be null or a number."""
    from embedtune.sweep.report import write_outputs

    config, space, out = files
    space.write_text(
        yaml.safe_dump({**SPACE, "params": {"training.max_steps": {"type": "categorical", "choices": [None, 6]}}})
    )
    sweep = open_sweep(config, space, out, 3, None, None)
    study = load_study(sweep)
    steps = optuna.distributions.CategoricalDistribution([None, 6])
    for number, (choice, value) in enumerate([(6, 0.9), (None, 0.7), (6, 0.8)]):
        attrs = {"over_tolerance": 0.0, "metric": "toy_roc_auc", "run": str(tmp_path / "elsewhere" / str(number))}
        attrs["worker"] = "other-host:1"
        study.add_trial(
            optuna.trial.create_trial(
                params={"training.max_steps": choice},
                distributions={"training.max_steps": steps},
                value=value,
                user_attrs=attrs,
            )
        )
    write_outputs(study, sweep)
    best = (out / "best.yaml").read_text(encoding="utf-8")
    assert "other-host:1" in best and load_config(out / "best.yaml").training.max_steps == 6
    assert "<img" in (out / "report.html").read_text(encoding="utf-8")


def test_runs_sharing_a_baselines_dict_measure_the_untrained_model_once_per_model_and_length(files, monkeypatch):
    import embedtune.pipeline as pipeline

    config, _, out = files
    calls = []
    real = pipeline.measure

    def counted(eval_sets, model, label="evaluating"):
        calls.append(label)
        return real(eval_sets, model, label)

    monkeypatch.setattr(pipeline, "measure", counted)
    baselines: dict = {}
    first = pipeline.run_training(load_config(config), out / "a", baselines=baselines)
    second = pipeline.run_training(load_config(config, ["training.lr=0.002"]), out / "b", baselines=baselines)
    assert calls.count("baseline") == 1
    assert second.metrics["baseline"] == first.metrics["baseline"]
    pipeline.run_training(load_config(config, ["model.max_seq_length=16"]), out / "c", baselines=baselines)
    assert calls.count("baseline") == 2  # another length is another baseline
