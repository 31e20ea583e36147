"""NLI: class labels from names, the softmax objective (alone and in a composite), triplets for MNRL."""

from __future__ import annotations

import pytest
import torch
from helpers import NLI_CLASSES, NLI_ROWS, cli, run_config, write_nli

from embedtune.config import parse_config
from embedtune.data.nli import nli_triplets
from embedtune.data.readers import load_pairs
from embedtune.data.spec import Columns, DataSpec
from embedtune.errors import ConfigError, DataError, UserError
from embedtune.objectives.nli import NLISoftmaxLoss
from embedtune.pipeline import run_training


def spec(path) -> DataSpec:
    return DataSpec(path=path, columns=Columns(label="entailment"), label_classes=NLI_CLASSES)


def test_class_names_become_indices_and_unknown_names_name_the_line(tmp_path):
    data = load_pairs(spec(write_nli(tmp_path / "nli.tsv")))
    assert data.kind == "classes" and data.num_classes == 3
    assert data.labels[:3] == [1.0, 0.0, 2.0]
    assert data.to_dataset()["label"][:3] == [1, 0, 2]
    bad = write_nli(tmp_path / "bad.tsv", [*NLI_ROWS, ("x y", "y z", "maybe")])
    with pytest.raises(DataError, match=r"bad\.tsv:9: field 'entailment': label 'maybe' is not one of"):
        load_pairs(spec(bad))


def test_triplets_pair_each_entailment_with_a_contradiction_of_its_premise(tmp_path):
    data = load_pairs(spec(write_nli(tmp_path / "nli.tsv")))
    triplets = nli_triplets(data, entailment=1, contradiction=0, seed=0)
    assert triplets.kind == "triplets" and len(triplets) == 2
    assert triplets.texts1 == ["a dog runs in the park", "a man plays the song"]
    assert triplets.texts2 == ["an animal runs", "a man makes music"]
    assert triplets.negatives[0] == "a cat sleeps at home"
    assert triplets.negatives[1] in {"a man is silent", "nobody is silent"}
    assert nli_triplets(data, 1, 0, seed=0).negatives == triplets.negatives
    with pytest.raises(UserError, match="no premise has both"):
        nli_triplets(data.subset([0, 2]), 1, 0)


def test_softmax_component_loss_matches_sentence_transformers_forward(tiny_model):
    loss = NLISoftmaxLoss(tiny_model, 32, num_labels=3)
    features = [tiny_model.preprocess(["a dog runs", "a man plays"]), tiny_model.preprocess(["an animal", "music"])]
    labels = torch.tensor([1, 0])
    tiny_model.eval()
    direct = loss(features, labels)
    embeddings = [tiny_model(f)["sentence_embedding"] for f in features]
    assert float(loss.compute_loss_from_embeddings(embeddings, labels)) == pytest.approx(float(direct), rel=1e-6)


def test_softmax_trains_alone_and_with_a_composite(tmp_path, tiny_model_dir):
    raw = run_config(tmp_path, tiny_model_dir, loss={"name": "softmax"})
    nli = write_nli(tmp_path / "train_nli.tsv", repeat=4)
    raw["data"]["train"] = {"path": str(nli), "columns": {"label": "entailment"}, "label_classes": NLI_CLASSES}
    assert run_training(parse_config(raw), tmp_path / "alone").metrics["final"]
    raw["loss"] = {
        "name": "composite",
        "components": [{"name": "nli", "loss": {"name": "softmax"}}, {"name": "iso", "loss": {"name": "isotropy"}}],
    }
    assert run_training(parse_config(raw), tmp_path / "mixed").metrics["final"]
    raw["loss"] = {"name": "cosine"}
    with pytest.raises(ConfigError, match="needs scored data but .* holds classes rows"):
        run_training(parse_config(raw), tmp_path / "wrong")
    raw["loss"] = {"name": "softmax", "num_labels": 2}
    with pytest.raises(ConfigError, match="num_labels 2 but .* has 3 label_classes"):
        run_training(parse_config(raw), tmp_path / "wrong2")


def test_cli_writes_triplets(monkeypatch, capsys, tmp_path):
    nli = write_nli(tmp_path / "nli.tsv")
    code, out, err = cli(monkeypatch, capsys, "nli-triplets", str(nli), "-o", str(tmp_path / "t.tsv"))
    assert code == 0 and "wrote 2 triplets" in out, err
    triplets = load_pairs(
        DataSpec(path=tmp_path / "t.tsv", columns=Columns(text1="anchor", text2="positive", negative="negative"))
    )
    assert len(triplets) == 2
    code, _, err = cli(
        monkeypatch, capsys, "nli-triplets", str(nli), "-o", str(tmp_path / "u.tsv"), "--entailment", "yes"
    )
    assert code == 2 and "--entailment" in err
