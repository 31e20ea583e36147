"""group_mnrl: MNRL without same-group in-batch negatives (embedtune.objectives.group_mnrl)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, Literal

from embedtune.config.methods import LOSSES
from embedtune.errors import ConfigError
from embedtune.objectives.losses.mnrl import MNRLLossConfig

if TYPE_CHECKING:
    from embedtune.data.pairs import PairData


@LOSSES.register
class GroupMNRLLossConfig(MNRLLossConfig):
    """Inputs: (anchor, positive[, negative]) plus data.train.columns.group, e.g. each row's category."""

    name: Literal["group_mnrl"] = "group_mnrl"  # mnrl's settings and data, its own masking

    summary: ClassVar = (
        "MNRL that never uses a text of the anchor's own group (data columns.group, e.g. its category) as an "
        "in-batch negative: no false negatives from pairs mined by category. Binary data keeps its label-1 rows."
    )

    def build(self, model, teachers):
        from embedtune.distributed import world_size
        from embedtune.objectives.group_mnrl import GroupMaskedMNRLoss

        return GroupMaskedMNRLoss(model, scale=self.scale, gather_across_devices=world_size() > 1)

    def check_in_run(self, config, task) -> None:
        if task is None and config.data.train.columns.group is None:
            raise ValueError(
                "loss group_mnrl needs data.train.columns.group (the column naming each row's group, e.g. category)"
            )

    def prepare_data(self, data: PairData) -> PairData:
        return with_group_labels(data)


def with_group_labels(data: PairData) -> PairData:
    """group_mnrl reads each row's group id from the label column: groups by sorted name, -1 for no group."""
    from embedtune.objectives.group_mnrl import NO_GROUP

    if data.labels is not None:
        raise ConfigError(f"loss group_mnrl reads the groups of {data.source}; it cannot also take its score labels")
    groups = data.groups or [None] * len(data)
    ids = {name: index for index, name in enumerate(sorted({g for g in groups if g is not None}))}
    return replace(data, labels=[float(NO_GROUP if g is None else ids[g]) for g in groups])
