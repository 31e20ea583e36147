"""Curriculum training: phases of pairs trained in order, as one trainer run.

The curriculum is a *data order* (every batch of phase 1 for its epochs, then phase 2, ...) plus, optionally, a
learning-rate schedule that restarts per phase. Keeping it one ``trainer.train()`` call means evaluation, best-model
tracking, early stopping, checkpoints and resume all span phases with no extra machinery: the order is a pure
function of the seed, so a resumed run skips exactly the batches it already saw.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from sentence_transformers.base.sampler import DefaultBatchSampler
from transformers import TrainerCallback

from embedtune.config import CurriculumConfig
from embedtune.data.pairs import PairData
from embedtune.errors import ConfigError, DataError


@dataclass(frozen=True)
class Phase:
    name: str
    rows: tuple[int, ...]
    epochs: int
    lr: float | None
    warmup_ratio: float | None


@dataclass(frozen=True)
class CurriculumPlan:
    phases: tuple[Phase, ...]
    schedule: str

    @classmethod
    def build(cls, data: PairData, config: CurriculumConfig) -> CurriculumPlan:
        """Match the data's phase column to the configured phases; an unlisted or empty phase is an error."""
        if data.phases is None:
            raise DataError(
                data.source, "training.curriculum needs a phase for every pair; set data.train.columns.phase"
            )
        listed = [phase.phase for phase in config.phases]
        unlisted = sorted(set(data.phases) - set(listed))
        if unlisted:
            raise ConfigError(f"training.curriculum.phases: {data.source} has phase(s) {unlisted} that are not listed")
        phases = []
        for spec in config.phases:
            rows = tuple(i for i, phase in enumerate(data.phases) if phase == spec.phase)
            if not rows:
                raise ConfigError(f"training.curriculum: phase '{spec.phase}' has no pairs in {data.source}")
            phases.append(Phase(spec.phase, rows, spec.epochs, spec.lr, spec.warmup_ratio))
        return cls(tuple(phases), config.schedule)

    def batches(self, batch_size: int, seed: int, texts: list[tuple[str, ...]] | None) -> list[tuple[str, list[int]]]:
        """``(phase, rows)`` of every batch of the run, in order: phase by phase, epoch by epoch, shuffled within
        each phase-epoch. With ``texts`` (per row), a row waits for a later batch rather than repeat a text."""
        return [batch for epoch in self.epoch_batches(batch_size, seed, texts) for batch in epoch]

    def epoch_batches(self, batch_size: int, seed: int, texts) -> list[list[tuple[str, list[int]]]]:
        """:meth:`batches`, one list per curriculum epoch (each epoch of each phase, in order)."""
        epochs = []
        for phase_index, phase in enumerate(self.phases):
            for epoch in range(phase.epochs):
                rng = np.random.default_rng([seed, phase_index, epoch])
                rows = [phase.rows[i] for i in rng.permutation(len(phase.rows))]
                epochs.append([(phase.name, batch) for batch in _chunk(rows, batch_size, texts)])
        return epochs


def _chunk(rows: list[int], batch_size: int, texts) -> list[list[int]]:
    if texts is None:
        return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
    batches, pending = [], list(rows)
    while pending:
        batch, seen, deferred = [], set(), []
        for row in pending:
            if len(batch) < batch_size and seen.isdisjoint(texts[row]):
                batch.append(row)
                seen.update(texts[row])
            else:
                deferred.append(row)
        batches.append(batch)
        pending = deferred
    return batches


class CurriculumBatchSampler(DefaultBatchSampler):
    """Yields a precomputed curriculum order; the trainer builds it through ``batch_sampler=sampler_factory(...)``."""

    def __init__(self, dataset, batch_size: int, drop_last: bool, order: list[list[int]], **kwargs) -> None:
        super().__init__(dataset, batch_size, drop_last, **kwargs)
        self.order = order

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.order

    def __len__(self) -> int:
        return len(self.order)


def row_texts(dataset) -> list[tuple[str, ...]]:
    """The texts of every row (all columns but the label), for keeping duplicates out of a batch."""
    columns = [name for name in dataset.column_names if name != "label"]
    return list(zip(*(dataset[name] for name in columns)))


def sampler_factory(order: list[list[int]]) -> Callable:
    """What ``SentenceTransformerTrainingArguments.batch_sampler`` accepts: a callable building the sampler.

    A partial of the class, not a closure: the trainer pickles its arguments into every checkpoint.
    """
    return functools.partial(CurriculumBatchSampler, order=order)


def restart_multipliers(
    phase_steps: list[int],
    phases: tuple[Phase, ...],
    base_lr: float,
    shape: str,
    default_warmup: float,
    warmup_steps: int | None = None,
) -> Callable[[int], float]:
    """LambdaLR factor per optimizer step: each phase warms up to its own peak lr and decays within the phase.
    Warmup per phase: its own ``warmup_ratio``, else ``warmup_steps`` steps, else ``default_warmup`` of its steps."""
    bounds = [int(b) for b in np.cumsum([0, *phase_steps])]

    def factor(step: int) -> float:
        index = min(bisect.bisect_right(bounds, step) - 1, len(phases) - 1)
        phase, length = phases[index], max(phase_steps[index], 1)
        local = int(step - bounds[index])  # plain ints and floats: the scheduler state is saved weights-only
        peak = (phase.lr or base_lr) / base_lr
        if phase.warmup_ratio is None and warmup_steps is not None:
            warmup = min(warmup_steps, length)
        else:
            warmup = int(round(length * (phase.warmup_ratio if phase.warmup_ratio is not None else default_warmup)))
        if local < warmup:
            return peak * (local + 1) / (warmup + 1)
        progress = min((local - warmup) / max(length - warmup, 1), 1.0)
        if shape == "cosine":
            return peak * 0.5 * (1 + math.cos(math.pi * progress))
        return peak * (1 - progress) if shape == "linear" else peak

    return factor


def curriculum_trainer_class(base: type, multipliers: Callable[[int], float] | None) -> type:
    """``base`` (SentenceTransformerTrainer) with the per-phase restart schedule, when there is one."""
    if multipliers is None:
        return base

    class CurriculumTrainer(base):
        def create_scheduler(self, num_training_steps: int, optimizer=None):
            from torch.optim.lr_scheduler import LambdaLR

            if self.lr_scheduler is None:
                self.lr_scheduler = LambdaLR(optimizer or self.optimizer, multipliers)
            return self.lr_scheduler

    return CurriculumTrainer


class CurriculumEpochs(TrainerCallback):
    """Keeps "epoch" meaning one epoch of a phase, counted across phases, as it would without a curriculum.

    The curriculum is one trainer pass, so the trainer's own epoch runs 0 -> 1 over the whole run. This sets
    ``state.epoch`` to the curriculum epoch (fractional within one) after every step, before anything reads it
    (unfreezing stages, epoch-unit weight schedules, history), and asks for the per-epoch evaluation and
    checkpoint at each curriculum epoch's end (the trainer's own end-of-pass one covers the last).
    """

    def __init__(self, epoch_lengths: list[int], accumulation: int) -> None:
        self.bounds = [int(b) for b in np.cumsum([0, *epoch_lengths])]  # in batches
        self.accumulation = accumulation

    def epoch_at(self, step: int) -> float:
        consumed = step * self.accumulation
        if consumed >= self.bounds[-1]:
            return float(len(self.bounds) - 1)
        index = bisect.bisect_right(self.bounds, consumed) - 1
        return index + (consumed - self.bounds[index]) / (self.bounds[index + 1] - self.bounds[index])

    def on_train_begin(self, args, state, control, **kwargs):
        state.epoch = self.epoch_at(state.global_step)  # a resumed run starts where its checkpoint was

    def on_step_end(self, args, state, control, **kwargs):
        state.epoch = self.epoch_at(state.global_step)
        ended = math.floor(state.epoch) > math.floor(self.epoch_at(state.global_step - 1))
        if ended and state.global_step < state.max_steps:
            control.should_evaluate = control.should_evaluate or args.eval_strategy == "epoch"
            control.should_save = control.should_save or args.save_strategy == "epoch"
        return control


def phase_lookup(order: list[tuple[str, list[int]]], accumulation: int) -> Callable[[int], str]:
    """Phase of the batch that ended optimizer step ``step`` (1-based, as the trainer counts)."""
    names = [name for name, _ in order]

    def lookup(step: int) -> str:
        return names[min(max(step * accumulation - 1, 0), len(names) - 1)]

    return lookup


def optimizer_steps_per_phase(order: list[tuple[str, list[int]]], phases: tuple[Phase, ...], accumulation: int):
    """Optimizer steps of each phase, a step counted where the batch that ends it is (as :func:`phase_lookup`).
    They add up to the trainer's ``ceil(batches / accumulation)``: rounding down per phase left the last steps
    outside every phase's schedule, at lr 0."""
    lookup = phase_lookup(order, accumulation)
    step_phases = [lookup(step) for step in range(1, math.ceil(len(order) / accumulation) + 1)]
    return [step_phases.count(phase.name) for phase in phases]
