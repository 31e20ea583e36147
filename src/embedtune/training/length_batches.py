"""Length-grouped batches: rows of similar length share a batch, so little of each batch is padding.

sentence-transformers has no such sampler (transformers' ``group_by_length`` only reaches the default sampler, which
sentence-transformers replaces). As transformers' ``LengthGroupedSampler``: shuffle, cut into mega-batches of 50
batches, sort each by length, cut into batches, shuffle the batches. Seeded by seed + epoch, so resume is exact.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from sentence_transformers.base.sampler import DefaultBatchSampler

MEGA_BATCHES = 50


class LengthGroupedBatchSampler(DefaultBatchSampler):
    """Batches of rows of similar total text length (characters: no tokenizer needed), in random order.

    ``no_duplicates``: a row whose text is already in the batch waits for the next one (in-batch-negative losses).
    """

    no_duplicates = False

    def __init__(self, dataset, batch_size, drop_last, valid_label_columns=None, generator=None, seed=0) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        label_columns = set(valid_label_columns or [])
        columns = [name for name in dataset.column_names if name not in label_columns]
        self.texts = [tuple(str(row[name]) for name in columns) for row in dataset.select_columns(columns)]
        self.lengths = [sum(len(text) for text in texts) for texts in self.texts]
        self._cached: tuple[int, list[list[int]]] | None = None

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches()

    def __len__(self) -> int:
        return len(self._batches())  # exact: with no_duplicates a batch can close early

    def _batches(self) -> list[list[int]]:
        if self._cached is None or self._cached[0] != self.epoch:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(len(self.lengths), generator=generator).tolist()
            span = self.batch_size * MEGA_BATCHES
            batches, carry = [], []
            for start in range(0, len(order), span):
                chunk = sorted(order[start : start + span], key=lambda index: self.lengths[index], reverse=True)
                full, carry = self._fill([*carry, *chunk], short=False)
                batches += full
            if carry and not self.drop_last:  # only the epoch's last rows may make short batches
                batches += self._fill(carry, short=True)[0]
            shuffled = [batches[index] for index in torch.randperm(len(batches), generator=generator).tolist()]
            self._cached = (self.epoch, shuffled)
        return self._cached[1]

    def _fill(self, rows: list[int], short: bool) -> tuple[list[list[int]], list[int]]:
        """Batches in the given order; with no_duplicates a row clashing with the batch waits for a later one.
        Returns the batches and the rows left over (``short``: none, the last batches may be smaller)."""
        batches = []
        while rows:
            batch, seen, rest = [], set(), []
            for row in rows:
                if len(batch) < self.batch_size and (not self.no_duplicates or seen.isdisjoint(self.texts[row])):
                    batch.append(row)
                    seen.update(self.texts[row])
                else:
                    rest.append(row)
            if len(batch) < self.batch_size and not short:
                return batches, rows  # carried into the next chunk
            batches.append(batch)
            rows = rest
        return batches, []


class LengthGroupedNoDuplicatesBatchSampler(LengthGroupedBatchSampler):
    no_duplicates = True
