"""Bad inputs as a user meets them (issue 12): one case per mistake, shared by tests/cli/test_bad_inputs.py and
scripts/bad_inputs_table.py (which writes docs/bad-inputs.md from the messages the cases actually print).

Every case builds its files in its own folder, runs there (so the command reads as a user types it), and must end
with exit code 2, one line on stderr containing ``message``, and the folder exactly as it was: nothing written,
nothing half-written, nothing removed.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from helpers import TOPICS, run_config, simulate_crash, write_pairs


@dataclass
class Env:
    """Where a case runs: its own (current) folder, the tiny model, and real runs to copy for resume cases."""

    folder: Path
    model: Path
    runs: Runs


@dataclass(frozen=True)
class Case:
    id: str
    input: str  # the mistake, as a user would say it
    build: Callable[[Env], list[str]]  # writes the case's files, returns the CLI arguments
    message: str  # a fragment the one-line error must contain
    written: str = "nothing"  # what is (not) written, in words, for the doc
    absent: tuple[str, ...] = ()  # paths outside the case folder that must not exist afterwards
    xfail: bool = False  # a known defect, reported for a fix: the test is a strict xfail until then


class Runs:
    """One real tiny run (6 steps, checkpoints kept), trained on first use and copied into each case that needs it:
    ``finished`` as it ended, ``crashed`` as a kill after its first checkpoint leaves it."""

    def __init__(self, folder: Path, model: Path) -> None:
        self.folder, self.model, self.raw = folder, model, None

    def copy(self, kind: str, destination: Path) -> dict:
        if self.raw is None:
            from embedtune.config import parse_config
            from embedtune.pipeline import run_training

            self.folder.mkdir(parents=True, exist_ok=True)
            raw = run_config(self.folder, self.model)
            raw["training"].update(lr=5e-4, save_total_limit=3, keep_checkpoints=True)
            run_training(parse_config(raw), self.folder / "finished")
            shutil.copytree(self.folder / "finished", self.folder / "crashed")
            simulate_crash(self.folder / "crashed", keep_checkpoints=1)
            self.raw = raw
        shutil.copytree(self.folder / kind, destination)
        return json.loads(json.dumps(self.raw))


PROGRESS_BAR = re.compile(r"\d+%\|.*\| *\d+/\d+ \[")


def message_lines(stderr: str) -> list[str]:
    """The non-empty stderr lines, without progress bars (a model that loads draws one before a later error)."""
    return [line for line in stderr.splitlines() if line.strip() and not PROGRESS_BAR.search(line)]


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with the bytes of each file: equal snapshots mean nothing was touched."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


# --- builders -------------------------------------------------------------------------------------------------------


def config(env: Env, raw: dict | None = None, name: str = "run.yaml", **kwargs) -> str:
    """Write a run config (toy data and the tiny model) into the case folder; return its name."""
    (env.folder / name).write_text(yaml.safe_dump(raw or run_config(env.folder, env.model, **kwargs)))
    return name


def train(env: Env, *extra: str, **kwargs) -> list[str]:
    return ["train", config(env, **kwargs), "-o", "run", *extra]


def train_with(env: Env, change: Callable[[dict], None], **kwargs) -> list[str]:
    raw = run_config(env.folder, env.model, **kwargs)
    change(raw)
    return ["train", config(env, raw), "-o", "run"]


def train_on_rows(env: Env, rows: list[str], name: str = "train.tsv", scored: bool = False) -> list[str]:
    """A run whose training file is these lines (header included)."""

    def change(raw: dict) -> None:
        (env.folder / name).write_text("".join(line + "\n" for line in rows), encoding="utf-8")
        raw["data"]["train"]["path"] = str(env.folder / name)

    return train_with(env, change, scored=scored)


def text(env: Env, name: str, content: str | bytes) -> str:
    path = env.folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return name


def eval_on(env: Env, name: str, content: str | bytes, *extra: str) -> list[str]:
    return ["eval", "--model", str(env.model), "--data", text(env, name, content), *extra]


def documents(env: Env, categories: int = 4) -> str:
    rows = [f"{line} {k}\t{topic}" for topic in list(TOPICS)[:categories] for k in range(3) for line in TOPICS[topic]]
    return text(env, "tickets.tsv", "text\tcategory\n" + "\n".join(rows) + "\n")


def model_folder(env: Env, files: dict[str, str]) -> dict:
    folder = env.folder / "my-model"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_text(content)
    raw = run_config(env.folder, env.model)
    raw["model"]["name"] = str(folder)
    return raw


def semicolons(env: Env) -> list[str]:
    rows = [line.replace("\t", ";") for line in write_pairs(env.folder / "pairs.tsv").read_text().splitlines()]
    return train_on_rows(env, rows)


def typo(env: Env) -> list[str]:
    return train_with(env, lambda raw: raw["training"].update(epocs=2))


def missing_data(env: Env) -> list[str]:
    return train_with(env, lambda raw: raw["data"]["train"].update(path=str(env.folder / "pairs.tsv")))


def missing_column(env: Env) -> list[str]:
    return train_with(env, lambda raw: raw["data"]["train"]["columns"].update(label="score"))


def missing_model(env: Env) -> list[str]:
    return train_with(env, lambda raw: raw["model"].update(name=str(env.folder / "no-such-model")))


def uncached_hub_id(env: Env) -> list[str]:
    return train_with(env, lambda raw: raw["model"].update(name="someone/not-a-cached-model"))


def pickled_model(env: Env) -> list[str]:
    return ["train", config(env, model_folder(env, {"config.json": "{}", "pytorch_model.bin": "pickle"})), "-o", "run"]


def not_a_model(env: Env) -> list[str]:
    return ["train", config(env, model_folder(env, {"notes.txt": "weights to come"})), "-o", "run"]


def lora_targets(env: Env) -> list[str]:
    strategy = {"name": "lora", "lora_target_modules": ["q_proj", "v_proj"]}
    return train(env, strategy=strategy)


def overwrite_user_folder(env: Env) -> list[str]:
    (env.folder / "run").mkdir()
    (env.folder / "run" / "notes.txt").write_text("my notes")
    return train(env, "--overwrite")


def existing_run(env: Env) -> list[str]:
    env.runs.copy("finished", env.folder / "run")
    return train(env)


def output_is_a_file(env: Env) -> list[str]:
    (env.folder / "run").write_text("not a folder")
    return train(env)


def resume_finished(env: Env) -> list[str]:
    env.runs.copy("finished", env.folder / "run")
    return ["train", "--resume", "-o", "run"]


def resume_changed(env: Env) -> list[str]:
    raw = env.runs.copy("crashed", env.folder / "run")
    return ["train", config(env, raw), "--resume", "-o", "run", "--set", "training.lr=2e-5"]


def resume_set_without_config(env: Env) -> list[str]:
    env.runs.copy("crashed", env.folder / "run")
    return ["train", "--resume", "-o", "run", "--set", "training.lr=2e-5"]


def nli(env: Env) -> list[str]:
    rows = "sentence1\tsentence2\tentailment\na dog runs\tan animal runs\tentailment\n"
    return ["nli-triplets", text(env, "nli.tsv", rows), "-o", "triplets.tsv", "--entailment", "entails"]


def hard_negatives_existing(env: Env) -> list[str]:
    pairs = text(env, "pairs.tsv", "sentence1\tsentence2\na dog runs\tan animal runs\n")
    text(env, "triplets.tsv", "anchor\tpositive\tnegative\nmy\tearlier\tfile\n")
    return ["hard-negatives", pairs, "-o", "triplets.tsv", "--model", str(env.model)]


PAIRS = "sentence1\tsentence2\tscore\n"
JSONL = '{"sentence1": "a", "sentence2": "b", "score": 0.5}\n'


def guard_metric_unknown(raw: dict) -> None:
    general = write_pairs(Path(raw["data"]["train"]["path"]).parent / "general.tsv", n=12, seed=3, scored=True)
    data = {"path": str(general), "task": "sts", "columns": {"label": "label"}, "score_range": [0, 5]}
    raw["retention"] = {"sets": [{"data": data, "metric": "roc_auc"}]}


def sweep_files(env: Env, space: str) -> list[str]:
    """A run config around the tiny model and a space file; the sweep command with --trials 2 (last two args)."""
    text(env, "run.yaml", yaml.safe_dump(run_config(env.folder, env.model)))
    return ["sweep", "run.yaml", "--space", text(env, "space.yaml", space), "--trials", "2"]


# fmt: off
CASES = [
    # the command line itself (click's usage errors, as one line)
    Case("option-unknown", "train --epochs 3 (no such option)",
         lambda env: ["train", "run.yaml", "--epochs", "3"], "No such option: --epochs"),
    Case("option-bad-value", "search -k 0", lambda env: ["search", "index", "printer", "-k", "0"],
         "Invalid value for '-k'"),
    # run configs
    Case("config-missing", "train: config file that does not exist",
         lambda env: ["train", "run.yaml", "-o", "run"], "run.yaml"),
    Case("yaml-tab", "train: YAML indented with a tab",
         lambda env: ["train", text(env, "run.yaml", "model:\n\tname: x\n"), "-o", "run"], "run.yaml"),
    Case("yaml-unclosed", "train: YAML with an unclosed bracket",
         lambda env: ["train", text(env, "run.yaml", "training: {lr: 1e-3\n"), "-o", "run"], "run.yaml"),
    Case("unknown-key", "train: unknown key training.epocs", typo, "training.epocs"),
    Case("set-unknown-key", "train: --set training.epocs=2", lambda env: train(env, "--set", "training.epocs=2"),
         "training.epocs"),
    Case("set-without-value", "train: --set training.lr (no '=')", lambda env: train(env, "--set", "training.lr"),
         "training.lr"),
    Case("wrong-type", "train: training.lr: fast",
         lambda env: train_with(env, lambda raw: raw["training"].update(lr="fast")), "training.lr"),
    Case("guard-both-forms", "train: retention.data and retention.sets both given",
         lambda env: train_with(env, lambda raw: raw.update(retention={"data": {"path": "a.tsv"},
                                                                        "sets": [{"data": {"path": "b.tsv"}}]})),
         "retention.sets or retention.data"),
    Case("guard-set-missing", "train: a retention.sets file that does not exist",
         lambda env: train_with(env, lambda raw: raw.update(retention={"sets": [{"data": {"path": "general.tsv"}}]})),
         "general.tsv"),
    Case("guard-metric-unknown", "train: a guard set's metric its task does not measure",
         lambda env: train_with(env, guard_metric_unknown), "'roc_auc' is not measured on guard set"),
    # training data
    Case("precision-fp16-cpu", "train: training.precision fp16 on the CPU",
         lambda env: train(env, "--set", "training.device=cpu", "--set", "training.precision=fp16"),
         "training.precision"),
    Case("tracker-typo", "train: training.report_to [tensorbord]",
         lambda env: train(env, "--set", "training.report_to=[tensorbord]"), "did you mean 'tensorboard'"),
    Case("data-missing", "train: data file missing", missing_data, "pairs.tsv"),
    Case("data-empty", "train: empty data file", lambda env: train_on_rows(env, []), "train.tsv"),
    Case("data-semicolons", "train: TSV with ';' separators", semicolons, "train.tsv:1"),
    Case("label-yes", "train: label 'yes' in a 0/1 column",
         lambda env: train_on_rows(env, ["sentence1\tsentence2\tlabel", "a dog\tan animal\tyes"]), "train.tsv:2"),
    Case("data-missing-column", "train: label column 'score' not in the file", missing_column, "score"),
    Case("empty-text", "train: a row with an empty second text",
         lambda env: train_on_rows(env, ["sentence1\tsentence2\tlabel", "a dog\t\t1"]), "train.tsv:2"),
    # models
    Case("model-missing", "train: model folder that does not exist", missing_model, "no-such-model"),
    Case("model-not-a-model", "train: model folder without a model in it", not_a_model, "my-model"),
    Case("model-pickle", "train: model folder with pickle .bin weights", pickled_model, "pytorch_model.bin"),
    Case("model-hub-id", "train: hub id that is not in the local cache", uncached_hub_id,
         "someone/not-a-cached-model"),
    Case("lora-targets", "train: lora_target_modules that don't exist", lora_targets, "q_proj"),
    Case("loss-unknown", "train: loss.name: mrnl", lambda env: train(env, loss={"name": "mrnl"}), "loss.name"),
    Case("loss-data-mismatch", "train: loss softmax on scored pairs", lambda env: train(env, loss={"name": "softmax"}),
         "softmax"),
    # outputs
    Case("output-proc", "train: -o /proc/x", lambda env: ["train", config(env), "-o", "/proc/embedtune-x"],
         "/proc/embedtune-x", absent=("/proc/embedtune-x",)),
    Case("overwrite-cwd", "train -o . --overwrite", lambda env: ["train", config(env), "-o", ".", "--overwrite"],
         "working folder", "nothing; the folder is unchanged"),
    Case("overwrite-user-folder", "train --overwrite on a folder with user files", overwrite_user_folder, "run",
         "nothing; the user's files are intact"),
    Case("existing-run", "train -o an earlier run, without --overwrite", existing_run, "--overwrite",
         "nothing; the earlier run is unchanged"),
    Case("output-is-a-file", "train -o a file", output_is_a_file, "run", "nothing; the file is unchanged"),
    # resume
    Case("resume-finished", "train --resume on a finished run", resume_finished, "run is done",
         "nothing; the run is unchanged"),
    Case("resume-changed-set", "train --resume with a changed --set", resume_changed, "training.lr",
         "nothing; the run is unchanged"),
    Case("resume-set-without-config", "train --resume -o RUN --set ... without a config", resume_set_without_config,
         "--set", "nothing; the run is unchanged"),
    Case("resume-nothing", "train --resume with nothing to resume", lambda env: train(env, "--resume"), "run"),
    # eval data
    Case("eval-json-proc", "eval --json /proc/x/o.json",
         lambda env: eval_on(env, "sts.tsv", PAIRS + "a b\tc d\t0.5\n", "--json", "/proc/embedtune-x/o.json"),
         "/proc/embedtune-x", absent=("/proc/embedtune-x",)),
    Case("eval-empty", "eval: empty file", lambda env: eval_on(env, "sts.tsv", ""), "sts.tsv"),
    Case("eval-header-only", "eval: header only", lambda env: eval_on(env, "sts.tsv", PAIRS), "sts.tsv"),
    Case("eval-ragged-row", "eval: ragged row",
         lambda env: eval_on(env, "sts.tsv", PAIRS + "a b\tc d\t0.5\ne f\t0.1\n"), "sts.tsv:3"),
    Case("eval-score-range", "eval: score outside --score-range",
         lambda env: eval_on(env, "sts.tsv", PAIRS + "a b\tc d\t4\ne f\tg h\t7\n", "--score-range", "0,5"),
         "sts.tsv:3"),
    Case("eval-nan-label", "eval: NaN label", lambda env: eval_on(env, "sts.tsv", PAIRS + "a b\tc d\tnan\n"),
         "sts.tsv:2"),
    Case("eval-not-utf8", "eval: non-UTF-8 file",
         lambda env: eval_on(env, "sts.tsv", (PAIRS + "caf\xe9 au lait\tc d\t0.5\n").encode("latin-1")), "sts.tsv"),
    Case("eval-jsonl-broken", "eval: JSONL broken line",
         lambda env: eval_on(env, "sts.jsonl", JSONL + '{"sentence1": "c",\n'), "sts.jsonl:2"),
    Case("eval-json-ragged", "eval: JSON ragged lists",
         lambda env: eval_on(env, "sts.json", '{"texts1": ["a", "b"], "texts2": ["c"], "labels": [0.5, 0.1]}',
                             "--label", "labels"), "texts2"),
    Case("eval-jsonl-not-object", "eval: JSONL line that is a list",
         lambda env: eval_on(env, "sts.jsonl", '[1, 2]\n'), "sts.jsonl:1"),
    Case("eval-csv-open-quote", "eval: CSV with a quote left open",
         lambda env: eval_on(env, "sts.csv", 'sentence1,sentence2,score\n"a b,c,0.5\n'), "sts.csv:2"),
    Case("eval-infinite-label", "eval: label inf", lambda env: eval_on(env, "sts.tsv", PAIRS + "a b\tc d\tinf\n"),
         "sts.tsv:2"),
    Case("eval-task", "eval --task retrieval (needs a suite)",
         lambda env: eval_on(env, "sts.tsv", PAIRS + "a b\tc d\t0.5\n", "--task", "retrieval"), "--task"),
    # Defect: the message names neither --score-range nor the expected form (also with 'a,b', and in inspect).
    Case("eval-score-range-form", "eval --score-range 5 (one number)",
         lambda env: eval_on(env, "sts.tsv", PAIRS + "a b\tc d\t0.5\n", "--score-range", "5"), "--score-range"),
    Case("eval-score-range-reversed", "eval --score-range 5,0",
         lambda env: eval_on(env, "sts.tsv", PAIRS + "a b\tc d\t0.5\n", "--score-range", "5,0"), "score_range"),
    # the data commands
    Case("mine-output-proc", "mine -o /proc/x", lambda env: ["mine", documents(env), "-o", "/proc/embedtune-x"],
         "/proc/embedtune-x", absent=("/proc/embedtune-x",)),
    Case("mine-one-category", "mine: documents with one category",
         lambda env: ["mine", documents(env, categories=1), "-o", "mined"], "categor"),
    Case("mine-missing-txt", "mine: missing file with .txt suffix", lambda env: ["mine", "tickets.txt", "-o", "mined"],
         "tickets.txt"),
    Case("mine-semicolons", "mine: ';'-separated documents without --delimiter",
         lambda env: ["mine", text(env, "tickets.csv", "text;category\nvpn down;Network\n"), "-o", "mined"],
         "--delimiter"),
    Case("mine-output-not-empty", "mine -o a folder with files in it",
         lambda env: text(env, "notes.txt", "mine") and ["mine", documents(env), "-o", "."], "--overwrite",
         "nothing; the folder is unchanged"),
    Case("split-missing-column", "split --stratify a column the file does not have",
         lambda env: ["split", text(env, "pairs.tsv", PAIRS + "a b\tc d\t1\n" * 4), "-o", "s", "--stratify", "class"],
         "'class'"),
    Case("sweep-space-unknown-key", "sweep: a space key the config does not have",
         lambda env: sweep_files(env, "params:\n  training.lrr: {type: float, low: 0.001, high: 0.01}\n"),
         "training.lrr", "nothing; no sweep dir"),
    Case("sweep-space-bad-value", "sweep: a space bound the config would refuse",
         lambda env: sweep_files(env, "params:\n  training.batch_size: {type: int, low: 0, high: 8}\n"),
         "batch_size = 0", "nothing; no sweep dir"),
    Case("sweep-space-step-zero", "sweep: a space step of 0",
         lambda env: sweep_files(env, "params:\n  training.batch_size: {type: int, low: 2, high: 8, step: 0}\n"),
         "step must be above 0", "nothing; no sweep dir"),
    Case("sweep-space-when-order", "sweep: a condition on a parameter listed after it",
         lambda env: sweep_files(env, "params:\n  strategy.lora_r: {type: int, low: 2, high: 8, "
                                      "when: {strategy.name: lora}}\n"
                                      "  strategy.name: {type: categorical, choices: [full, lora]}\n"),
         "sampled later", "nothing; no sweep dir"),
    Case("sweep-no-trials", "sweep without --trials",
         lambda env: sweep_files(env, "params:\n  training.lr: {type: float, low: 0.001, high: 0.01}\n")[:-2],
         "--trials"),
    Case("inspect-missing-column", "inspect: missing column",
         lambda env: ["inspect", text(env, "pairs.tsv", PAIRS + "a b\tc d\t0.5\n"), "--label", "label"], "label"),
    Case("hard-negatives-existing", "hard-negatives -o existing file", hard_negatives_existing, "triplets.tsv",
         "nothing; the file is unchanged"),
    Case("nli-entailment", "nli-triplets --entailment not in classes", nli, "--entailment"),
    Case("interpolate-existing", "interpolate -o an existing folder",
         lambda env: (env.folder / "wise").mkdir() or ["interpolate", str(env.model), "-o", "wise"], "wise"),
    Case("compare-not-runs", "compare two folders that are not finished runs, without --data",
         lambda env: (env.folder / "a").mkdir() or (env.folder / "b").mkdir() or ["compare", "a", "b"], "--data"),
    # serving
    Case("export-format", "export --format tflite", lambda env: ["export", str(env.model), "-o", "x", "--format",
         "tflite"], "--format tflite"),
    Case("export-existing", "export -o a folder that is not an export, with --overwrite",
         lambda env: (env.folder / "out").mkdir() or text(env, "out/notes.txt", "keep") and ["export",
                     str(env.model), "-o", "out", "--overwrite"],
         "not written by this command", "nothing; the folder is unchanged"),
    Case("export-parity", "export whose mean cosine is below --min-cosine",
         lambda env: ["export", str(env.model), "-o", "x", "--format", "onnx-int8", "--min-cosine", "1.0"],
         "export refused", "nothing; no export folder"),
    Case("encode-suffix", "encode -o out.csv", lambda env: ["encode", documents(env), "-o", "out.csv", "-m",
         str(env.model)], "out.csv"),
    Case("encode-missing-column", "encode: no such text column",
         lambda env: ["encode", documents(env), "-o", "e.npy", "-m", str(env.model), "--column", "body"], "'body'"),
    Case("index-duplicate-id", "index: the same id twice",
         lambda env: ["index", text(env, "docs.tsv", "id\ttext\n7\ta\n7\tb\n"), "-o", "idx", "-m", str(env.model)],
         "docs.tsv:3"),
    Case("search-not-an-index", "search a folder that is not an index",
         lambda env: (env.folder / "idx").mkdir() or ["search", "idx", "printer"], "not an index"),
    Case("search-no-query", "search without a query or --queries",
         lambda env: (env.folder / "idx").mkdir() or ["search", "idx"], "--queries"),
    Case("serve-not-an-index", "serve a folder that is not an index",
         lambda env: (env.folder / "idx").mkdir() or ["serve", "idx"], "not an index"),
]
# fmt: on
