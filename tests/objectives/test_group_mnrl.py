"""group_mnrl: MNRL without same-group in-batch negatives; groups read from a column and carried by mined pairs."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import TOPICS, run_config

from embedtune.config import LOSSES, parse_config
from embedtune.data.pairs import PairData
from embedtune.data.readers import load_pairs
from embedtune.data.rehearsal import mix_rehearsal
from embedtune.data.spec import Columns, DataSpec
from embedtune.errors import ConfigError, DataError
from embedtune.objectives import prepare_training_data
from embedtune.objectives.group_mnrl import NO_GROUP, GroupMaskedMNRLoss
from embedtune.pipeline import run_training


def reference_loss(anchors, candidates, groups, scale):
    """Per anchor: cross-entropy of its own positive against every candidate not of its group (loop, no masks)."""
    a = torch.nn.functional.normalize(anchors, dim=-1)
    c = torch.nn.functional.normalize(candidates, dim=-1)
    batch, total = len(groups), []
    for i in range(batch):
        kept = [j for j in range(len(c)) if j == i or j >= batch or groups[i] == NO_GROUP or groups[j] != groups[i]]
        logits = torch.stack([a[i] @ c[j] for j in kept]) * scale
        total.append(torch.logsumexp(logits, 0) - logits[kept.index(i)])
    return torch.stack(total).mean()


@pytest.mark.parametrize("with_negatives", [False, True])
def test_loss_equals_the_per_anchor_softmax_without_same_group_candidates(with_negatives):
    torch.manual_seed(0)
    groups = [0, 0, 1, NO_GROUP, 1, 2]
    embeddings = [torch.randn(6, 8) for _ in range(3 if with_negatives else 2)]
    loss = GroupMaskedMNRLoss(model=None, scale=20.0)
    got = loss.compute_loss_from_embeddings(embeddings, torch.tensor(groups, dtype=torch.float))
    want = reference_loss(embeddings[0], torch.cat(embeddings[1:]), groups, 20.0)
    assert float(got) == pytest.approx(float(want), rel=1e-5)


def test_without_groups_it_is_sentence_transformers_mnrl(tiny_model):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    tiny_model.eval()
    features = [tiny_model.preprocess(TOPICS["food"][:4]), tiny_model.preprocess(TOPICS["sport"][:4])]
    ungrouped = torch.full((4,), float(NO_GROUP))
    with torch.no_grad():
        ours = GroupMaskedMNRLoss(tiny_model, scale=20.0)(features, ungrouped)
        theirs = MultipleNegativesRankingLoss(tiny_model, scale=20.0)(features, ungrouped)
        # Same group everywhere: every candidate but the row's own positive is masked, nothing is left to learn.
        one_group = GroupMaskedMNRLoss(tiny_model)(features, torch.zeros(4))
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5) and float(ours) > 0.01
    assert float(one_group) == pytest.approx(0.0, abs=1e-6)


def write_grouped(path, rows):
    lines = ["sentence1\tsentence2\tlabel\tphase\tcategory"] + ["\t".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def grouped_rows(repeat: int = 1) -> list[tuple]:
    rows = []
    for k in range(repeat):
        for t, (topic, texts) in enumerate(TOPICS.items()):
            other = list(TOPICS)[(t + 1) % len(TOPICS)]
            for i in range(0, 6, 2):
                rows.append((f"{texts[i]} {k}", f"{texts[i + 1]} {k}", 1, 1 + i // 2 % 2, topic))
                rows.append((f"{texts[i]} {k}", f"{TOPICS[other][i]} {k}", 0, 1 + i // 2 % 2, topic))
    return rows


def test_groups_become_sorted_ids_on_the_label_one_rows(tmp_path):
    path = write_grouped(tmp_path / "p.tsv", grouped_rows())
    spec = DataSpec(path=path, columns=Columns(label="label", group="category"))
    data = load_pairs(spec)
    assert data.groups[:2] == ["weather", "weather"]
    prepared = prepare_training_data(data, LOSSES.validate({"name": "group_mnrl"}))
    assert len(prepared) == sum(1 for r in grouped_rows() if r[2] == 1)
    ids = {name: float(i) for i, name in enumerate(sorted(TOPICS))}
    assert prepared.labels == [ids[g] for g in prepared.groups]
    assert prepared.to_dataset().column_names == ["anchor", "positive", "label"]


def test_rehearsal_pairs_have_no_group_so_nobody_masks_them():
    train = PairData("train", ["a", "b"], ["c", "d"], groups=["x", "x"])
    general = PairData("general", ["g1", "g2", "g3"], ["h1", "h2", "h3"])
    loss = LOSSES.validate({"name": "group_mnrl"})
    mixed = mix_rehearsal(prepare_training_data(train, loss), prepare_training_data(general, loss), 1.0, seed=0)
    assert mixed.labels == [0.0, 0.0, NO_GROUP, NO_GROUP]


def test_group_column_errors_name_the_file_line_and_field(tmp_path):
    rows = grouped_rows()
    rows[3] = (*rows[3][:4], " ")
    spec = DataSpec(path=write_grouped(tmp_path / "bad.tsv", rows), columns=Columns(label="label", group="category"))
    with pytest.raises(DataError, match=r"bad\.tsv:5: field 'category': empty group"):
        load_pairs(spec)
    missing = DataSpec(path=spec.path, columns=Columns(label="label", group="topic"))
    with pytest.raises(DataError, match="topic"):
        load_pairs(missing)


def test_config_without_a_group_column_is_refused(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "group_mnrl"})
    with pytest.raises(ConfigError, match="group_mnrl needs data.train.columns.group"):
        parse_config(raw)


def test_trains_through_a_curriculum_and_logs_the_loss(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "group_mnrl"}, training={"max_steps": None})
    path = write_grouped(tmp_path / "grouped.tsv", grouped_rows(repeat=2))
    raw["data"]["train"] = {"path": str(path), "columns": {"label": "label", "phase": "phase", "group": "category"}}
    raw["training"]["curriculum"] = {"phases": [{"phase": 1, "epochs": 1}, {"phase": 2, "epochs": 1}]}
    result = run_training(parse_config(raw), tmp_path / "run")
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    losses = [row["loss"] for row in history if "loss" in row]
    assert losses and all(value == value and value >= 0 for value in losses)
    assert result.metrics["final"]["toy"]
