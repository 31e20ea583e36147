"""`embedtune split`: train and dev halves of a file, stratified, in the input's own format."""

from __future__ import annotations

import csv

from helpers import cli, write_pairs


def read(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_split_writes_stratified_train_and_dev_that_together_are_the_input(tmp_path, monkeypatch, capsys):
    source = write_pairs(tmp_path / "pairs.tsv", n=40, seed=3, scored=False)
    out = tmp_path / "split"
    args = ["split", str(source), "-o", str(out), "--dev-fraction", "0.25", "--stratify", "label"]
    code, _, err = cli(monkeypatch, capsys, *args)
    assert code == 0, err
    rows, train, dev = read(source), read(out / "train.tsv"), read(out / "dev.tsv")
    assert len(dev) == 10 and len(train) == 30
    key = lambda row: tuple(row.values())  # noqa: E731
    assert sorted(map(key, train + dev)) == sorted(map(key, rows))
    share = sum(row["label"] == "1" for row in rows) / len(rows)
    assert abs(sum(row["label"] == "1" for row in dev) / len(dev) - share) <= 0.1
    code, _, err = cli(monkeypatch, capsys, *args)
    assert code == 2 and "--overwrite" in err  # the earlier halves are not replaced silently


def test_stratified_splits_keep_the_label_shares_exactly_for_every_seed(tmp_path):
    from embedtune.data.split import split_rows

    source = write_pairs(tmp_path / "pairs.tsv", n=40, seed=3, scored=False)  # 20 of each label
    for seed in range(10):  # an unstratified split gives 5 of each only about a third of the time
        paths = split_rows(source, tmp_path / f"s{seed}", 0.25, "label", seed)
        assert sorted(row["label"] for row in read(paths["dev"])) == ["0"] * 5 + ["1"] * 5


def test_split_on_a_missing_column_is_one_line(tmp_path, monkeypatch, capsys):
    source = write_pairs(tmp_path / "pairs.tsv", n=20, seed=3, scored=False)
    code, _, err = cli(monkeypatch, capsys, "split", str(source), "-o", str(tmp_path / "s"), "--stratify", "class")
    assert code == 2 and "pairs.tsv" in err and "'class'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s" / "train.tsv").exists()


def test_copies_of_a_row_stay_on_one_side(tmp_path):
    from embedtune.data.split import split_rows

    source = tmp_path / "pairs.tsv"
    rows = [f"a{i} b\tc d\t{i % 2}\n" for i in range(10)]
    source.write_text("sentence1\tsentence2\tlabel\n" + "".join(row * 4 for row in rows), encoding="utf-8")
    paths = split_rows(source, tmp_path / "s", 0.2, "label", 0)
    train, dev = (set(map(lambda row: tuple(row.values()), read(paths[role]))) for role in ("train", "dev"))
    assert train and dev and not train & dev
    assert len(read(paths["dev"])) == 8  # two distinct rows, each with its three copies


def test_a_class_too_small_to_stratify_is_one_line(tmp_path, monkeypatch, capsys):
    source = write_pairs(tmp_path / "pairs.tsv", n=20, seed=3, scored=False)
    source.write_text(source.read_text(encoding="utf-8") + "x y\tz w\t2\n", encoding="utf-8")
    code, _, err = cli(monkeypatch, capsys, "split", str(source), "-o", str(tmp_path / "s"), "--stratify", "label")
    assert code == 2 and "'2'" in err and "label" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()
