"""Several processes (issue 15): rank 0 alone checks, measures and writes; in-batch negatives span every rank.

The 2-process runs use gloo on the CPU, one thread per process. With dropout off, DDP over 2 ranks of batch 8 sees
exactly the 16 rows one process of batch 16 sees per step (same seeded order, each rank every other batch), averages
the same gradients (MNRL gathers the candidates of both ranks), and so must end at the same metrics up to float
summation order: tolerance 1e-3 on a 0..1 metric.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from helpers import assert_same_final_metrics, run_config, simulate_crash, without_dropout

from embedtune.distributed import from_main, is_main, world_size


def _free_port() -> int:
    with socket.socket() as handle:
        handle.bind(("127.0.0.1", 0))
        return handle.getsockname()[1]


def _unique_pairs(source: Path, rows: int) -> Path:
    """``rows`` (anchor, positive) pairs, every text distinct: no-duplicates batching then cuts one seeded order
    into the same batches of 16 as into pairs of batches of 8."""
    lines = source.read_text().splitlines()[1:]
    pairs = [line.split("\t")[:2] for line in lines]
    body = [f"{pairs[i % len(pairs)][0]} {i}\t{pairs[i % len(pairs)][1]} {i}" for i in range(rows)]
    target = source.with_name("unique.tsv")
    target.write_text("\n".join(["sentence1\tsentence2", *body]) + "\n")
    return target


def _train(config: Path, out: Path, processes: int, *extra: str) -> subprocess.CompletedProcess:
    launcher = ["-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--master_port", str(_free_port())]
    command = [sys.executable, *(launcher if processes > 1 else []), "-m", "embedtune", "train", str(config)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([*command, "-o", str(out), *extra], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_one_process_runs_compute_in_place(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert (world_size(), is_main(), from_main(lambda: 41 + 1)) == (1, True, 42)


def test_two_processes_write_once_and_end_where_one_process_with_the_same_batch_ends(tmp_path, tiny_model_dir):
    model = without_dropout(tiny_model_dir, tmp_path / "model")
    raw = run_config(tmp_path, model, loss={"name": "mnrl"}, scored=False, training={"max_steps": 4, "lr": 5e-3})
    raw["data"]["train"] = {"path": str(_unique_pairs(Path(raw["data"]["train"]["path"]), 32)), "columns": {}}
    configs = {}
    for processes, batch in ((1, 16), (2, 8)):
        raw["training"]["batch_size"] = batch
        configs[processes] = tmp_path / f"run{processes}.yaml"
        configs[processes].write_text(yaml.safe_dump(raw))
    _train(configs[1], tmp_path / "one", 1)
    two = _train(configs[2], tmp_path / "two", 2)
    assert "run written to" in two.stdout and two.stdout.count("run written to") == 1  # rank 0 reports, once
    assert two.stderr.count("baseline toy:") == 1  # measured once, by rank 0
    history = [json.loads(line) for line in (tmp_path / "two" / "history.jsonl").read_text().splitlines()]
    steps = [(record["kind"], record["step"]) for record in history]
    assert len(steps) == len(set(steps))  # one writer
    final = {n: json.loads((tmp_path / n / "metrics.json").read_text())["final"]["toy"] for n in ("one", "two")}
    baseline = json.loads((tmp_path / "one" / "metrics.json").read_text())["baseline"]["toy"]
    assert final["one"]["toy_roc_auc"] != baseline["toy_roc_auc"]  # training moved the model
    for key in ("toy_roc_auc", "toy_average_precision"):
        assert final["two"][key] == pytest.approx(final["one"][key], abs=1e-3)


def _group_loss_worker(rank: int, port: int, anchors, positives, groups, out) -> None:
    import torch.distributed as dist

    from embedtune.objectives.group_mnrl import GroupMaskedMNRLoss

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    half = len(groups) // 2
    rows = slice(rank * half, (rank + 1) * half)
    a, p = anchors[rows].clone().requires_grad_(), positives[rows].clone().requires_grad_()
    loss = GroupMaskedMNRLoss(None, gather_across_devices=True).compute_loss_from_embeddings([a, p], groups[rows])
    loss.backward()
    gathered = {}
    for name, tensor in (("anchor_grad", a), ("positive_grad", p)):
        parts = [torch.zeros_like(tensor.grad) for _ in range(2)]
        dist.all_gather(parts, tensor.grad / 2)  # DDP averages over ranks
        gathered[name] = torch.cat(parts)
    loss = loss.detach()
    dist.all_reduce(loss)
    if rank == 0:
        torch.save({"loss": loss / 2, **gathered}, out)
    dist.destroy_process_group()


def test_group_mnrl_across_two_processes_is_the_loss_of_one_big_batch(tmp_path):
    from embedtune.objectives.group_mnrl import GroupMaskedMNRLoss

    generator = torch.Generator().manual_seed(0)
    anchors, positives = torch.randn(8, 6, generator=generator), torch.randn(8, 6, generator=generator)
    groups = torch.tensor([0, 1, 0, 2, 1, -1, 0, 2])
    out = tmp_path / "two.pt"
    torch.multiprocessing.spawn(
        _group_loss_worker, args=(_free_port(), anchors, positives, groups, out), nprocs=2, join=True
    )
    a, p = anchors.clone().requires_grad_(), positives.clone().requires_grad_()
    whole = GroupMaskedMNRLoss(None).compute_loss_from_embeddings([a, p], groups)
    whole.backward()
    two = torch.load(out)
    assert two["loss"].item() == pytest.approx(whole.item(), abs=1e-6)
    assert torch.allclose(two["anchor_grad"], a.grad, atol=1e-6)
    assert torch.allclose(two["positive_grad"], p.grad, atol=1e-6)  # through the gather, from both ranks' anchors


def _sync_worker(rank: int, port: int, out) -> None:
    import torch.distributed as dist

    from embedtune.distributed import SyncLossParameters

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    owned = torch.nn.Parameter(torch.zeros(3))
    owned.grad = torch.full((3,), float(rank + 1))  # rank 0: 1, rank 1: 2
    SyncLossParameters([owned]).on_pre_optimizer_step(None, None, None)
    if rank == 1:
        torch.save(owned.grad, out)
    dist.destroy_process_group()


def test_parameters_a_loss_owns_get_the_mean_gradient_of_all_ranks(tmp_path):
    out = tmp_path / "grad.pt"
    torch.multiprocessing.spawn(_sync_worker, args=(_free_port(), out), nprocs=2, join=True)
    assert torch.equal(torch.load(out), torch.full((3,), 1.5))


def test_a_two_process_run_resumes_from_its_checkpoint_and_ends_as_if_never_stopped(tmp_path, tiny_model_dir):
    model = without_dropout(tiny_model_dir, tmp_path / "model")
    training = {"max_steps": 4, "lr": 5e-3, "eval_steps": 2, "keep_checkpoints": True, "save_total_limit": 2}
    raw = run_config(tmp_path, model, loss={"name": "mnrl"}, scored=False, training=training)
    raw["data"]["train"] = {"path": str(_unique_pairs(Path(raw["data"]["train"]["path"]), 32)), "columns": {}}
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(raw))
    _train(config, tmp_path / "straight", 2)
    _train(config, tmp_path / "stopped", 2)
    simulate_crash(tmp_path / "stopped", keep_checkpoints=1)  # as if killed after checkpoint-2
    _train(config, tmp_path / "stopped", 2, "--resume")
    expected, actual = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("straight", "stopped"))
    assert_same_final_metrics(expected, actual, tolerance=1e-6)
