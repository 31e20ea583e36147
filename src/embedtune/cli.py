"""The embedtune command line: thin wrappers over the pipeline and the evaluators.

User errors (bad config, bad data, missing model) print one line and exit with code 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer._click.exceptions import UsageError  # typer vendors its own click: this is the class it raises
from typer.core import TyperGroup

from embedtune.errors import ForgettingError, Interrupted, NonFiniteLossError, UserError
from embedtune.modeling.load import model_of
from embedtune.rundir import check_new_file


class _OneLineUsage(TyperGroup):
    """click's usage errors (a bad option value, a missing argument) as one line, like every other bad input."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as error:
            where = error.ctx.command_path if error.ctx is not None else ctx.command_path
            message = " ".join(error.format_message().split())
            raise UserError(f"{where}: {message} (see --help)") from None


app = typer.Typer(
    cls=_OneLineUsage,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Fine-tune sentence-embedding models on your own pairs and prove the gain over the untuned model.",
)
STATE = {"debug": False}
USER_ERROR_EXIT = 2


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks instead of one-line errors")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only warnings and results")] = False,
) -> None:
    STATE["debug"] = debug
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "urllib3", "datasets", "filelock", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def train(
    config: Annotated[
        Path | None, typer.Argument(help="run config YAML (see recipes/); optional with --resume")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a key: --set training.lr=3e-5")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="run dir (default: config's output_dir)")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an earlier run in the run dir (never other files)")] = False,
    resume: Annotated[
        bool, typer.Option(help="continue the run in --output from its last checkpoint, with its own config")
    ] = False,
) -> None:
    """Fine-tune a model from a YAML config; evaluates the untuned baseline first, then the tuned model."""
    from embedtune.config import load_config, load_run_config
    from embedtune.pipeline import run_training

    if config is None:
        if not (resume and output is not None and not set_):
            raise UserError("pass a run config (embedtune train CONFIG.yaml), or --resume -o RUN_DIR without --set")
        run_config = load_run_config(output)
    else:
        run_config = load_config(config, set_ or [])
    output_dir = output or run_config.output_dir or Path("runs") / config.stem
    result = run_training(run_config, Path(output_dir), overwrite=overwrite, resume=resume, config_file=config)
    if not result.metrics:  # a rank other than 0 of a multi-process run: rank 0 reports
        return
    _print_comparison(result.metrics["baseline"], result.metrics["final"], "baseline", "final", result.statistics)
    for line in result.verdict:
        typer.echo(line)
    typer.echo(f"run written to {result.output_dir} in {result.seconds / 60:.1f} min")


@app.command()
def sweep(
    config: Annotated[Path, typer.Argument(help="run config YAML whose eval set the sweep chooses on")],
    space: Annotated[Path, typer.Option(help="search space YAML (see recipes/*.space.yaml)")],
    trials: Annotated[
        int | None, typer.Option(min=1, help="trials in the study; a rerun continues to this count")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="sweep dir (default sweeps/<config>)")] = None,
    storage: Annotated[
        str | None, typer.Option(help="Optuna storage URL shared by workers (default: SQLite in the sweep dir)")
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="study name in the storage (default: the sweep dir's name)")
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, help="worker processes on this machine, sharing its CPU threads")] = 1,
    final: Annotated[
        bool, typer.Option(help="train the best trial and the defaults at full budget; compare on the space's test")
    ] = False,
    worker: Annotated[int, typer.Option(hidden=True)] = 0,
) -> None:
    """Search hyperparameters with Optuna (TPE, median pruning), choosing on the config's eval set and never
    keeping a trial that forgets; writes trials.csv/md, best.yaml and report.html to the sweep dir. With --final,
    the best values and the recipe's defaults are trained once more and compared on the test suite no trial saw."""
    from embedtune.sweep import best_trial, open_sweep, run_final, run_sweep

    output_dir = output or Path("sweeps") / config.stem
    if final:
        result = run_final(open_sweep(config, space, output_dir, trials or 1, storage, study), space)
        _print_comparison(result.metrics["baseline"], result.metrics["final"], "defaults", "best", result.statistics)
        typer.echo(f"written to {output_dir / 'final'} (comparison.md, metrics.json, statistics.json)")
        return
    if trials is None:
        raise UserError("--trials: how many trials the study should hold (a rerun continues to this count)")
    result = run_sweep(config, space, output_dir, trials, storage, study, jobs, worker)
    if result is None:
        return
    best = best_trial(result)
    if best is None:
        typer.echo(f"no completed trial kept every guarded set; see {output_dir / 'trials.md'}")
        return
    typer.echo(f"best trial {best.number}: {best.user_attrs['metric']} = {best.value:.4f}; {best.params}")
    typer.echo(f"sweep written to {output_dir} (best.yaml, trials.md, report.html)")


DataOption = Annotated[Path | None, typer.Option("--data", help="pairs file (TSV/CSV/JSONL/JSON)")]
SuiteOption = Annotated[Path | None, typer.Option("--suite", help="suite YAML: a list of eval sets (see suites/)")]
TaskOption = Annotated[str, typer.Option(help="with --data: sts (Spearman/Pearson) or pairs (ROC-AUC, F1; 0/1)")]
Text1Option = Annotated[str | None, typer.Option(help="first text column (default sentence1)")]
Text2Option = Annotated[str | None, typer.Option(help="second text column (default sentence2)")]
LabelOption = Annotated[str | None, typer.Option(help="label column (default: score for sts, label for pairs)")]
RangeOption = Annotated[str, typer.Option(help="low,high of the labels, e.g. 0,5 for STS-B")]
ResamplesOption = Annotated[int, typer.Option(help="bootstrap resamples for intervals (0: none)")]
FoldsOption = Annotated[int | None, typer.Option(help="pairs: k-fold CV for the F1 threshold (default 5)")]
DelimiterOption = Annotated[str | None, typer.Option(help="field separator of --data if not the suffix's, e.g. ';'")]
DeviceOption = Annotated[
    str, typer.Option(help="where the model runs: auto (cuda, then mps, then cpu), cpu, cuda, mps")
]


@app.command("eval")
def eval_(
    data: DataOption = None,
    suite: SuiteOption = None,
    task: TaskOption = "sts",
    model: Annotated[
        str, typer.Option(help="model folder, run dir, cached hub id, or 'default' (all-MiniLM-L6-v2)")
    ] = "default",
    text1: Text1Option = None,
    text2: Text2Option = None,
    label: LabelOption = None,
    score_range: RangeOption = "0,1",
    folds: FoldsOption = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the metrics to this JSON file")] = None,
    delimiter: DelimiterOption = None,
    device: DeviceOption = "auto",
) -> None:
    """Evaluate one model on one data file (--data) or on every eval set of a suite (--suite)."""
    from embedtune.evaluation.suite import evaluate_all
    from embedtune.modeling.load import load_model

    if json_out is not None:
        from embedtune.rundir import check_writable_file

        check_writable_file(json_out)  # before the evaluation, not after it
    eval_sets = _eval_sets(data, suite, task, text1, text2, label, score_range, folds, delimiter)
    metrics = evaluate_all(eval_sets, load_model(model_of(model), device=device))
    for values in metrics.values():
        for key, value in values.items():
            typer.echo(f"{key}\t{value:.4f}")
    if json_out is not None:
        from embedtune.rundir import write_json_atomic

        write_json_atomic(json_out, metrics)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="run dir or model")],
    b: Annotated[str, typer.Argument(help="run dir or model")],
    data: DataOption = None,
    suite: SuiteOption = None,
    task: TaskOption = "sts",
    text1: Text1Option = None,
    text2: Text2Option = None,
    label: LabelOption = None,
    score_range: RangeOption = "0,1",
    resamples: ResamplesOption = 1000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    folds: FoldsOption = None,
    delimiter: DelimiterOption = None,
    device: DeviceOption = "auto",
) -> None:
    """Compare two run dirs (final metrics on their shared eval sets) or two models on the same --data/--suite.

    With --data or --suite, B - A comes with a paired-bootstrap interval (same resampled items for both).
    """
    if data is None and suite is None:
        metrics_a, metrics_b = _run_metrics(a), _run_metrics(b)
        shared = {name: metrics_a[name] for name in metrics_a if name in metrics_b}
        if not shared:
            raise UserError(f"{a} and {b} share no eval set; pass --data or --suite to evaluate both on the same data")
        _print_comparison(shared, {name: metrics_b[name] for name in shared}, "A", "B")
        return
    from embedtune.config import StatisticsConfig
    from embedtune.evaluation.compare import compare_models

    eval_sets = _eval_sets(data, suite, task, text1, text2, label, score_range, folds, delimiter)
    settings = StatisticsConfig(resamples=resamples, seed=seed)
    model_a, model_b = _models_at_one_length(a, b, device)
    metrics, statistics = compare_models(eval_sets, model_a, model_b, settings)
    _print_comparison(metrics["baseline"], metrics["final"], "A", "B", statistics)


def _models_at_one_length(a: str, b: str, device: str):
    """A run's model and a plain model are compared at the run's max_seq_length, as its own baseline was."""
    from embedtune.modeling.load import load_model

    lengths = {name: _run_max_seq_length(name) for name in (a, b)}
    known = {length for length in lengths.values() if length is not None}
    if len(known) > 1:
        typer.echo(f"note: the runs use max_seq_length {lengths[a]} (A) and {lengths[b]} (B); each is kept", err=True)
    shared = known.pop() if len(known) == 1 else None
    if shared is not None and None in lengths.values():
        typer.echo(f"note: the plain model is evaluated at the run's max_seq_length {shared}", err=True)
    return tuple(load_model(model_of(name), lengths[name] or shared, device=device) for name in (a, b))


def _run_max_seq_length(location: str) -> int | None:
    """The max_seq_length a run dir trained and measured with (None for a plain model or unset)."""
    if not (Path(location) / "config.yaml").exists():
        return None
    from embedtune.config import load_run_config

    return load_run_config(Path(location)).model.max_seq_length


bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks on the data sets in ../shared/data.")
app.add_typer(bench_app, name="bench")


@bench_app.command("quality")
def bench_quality(
    model: Annotated[list[str], typer.Option("--model", help="model folder, run dir or 'default'; repeatable")],
    suite: Annotated[Path, typer.Option(help="suite YAML")] = Path("suites/shared-data.yaml"),
    out: Annotated[Path | None, typer.Option(help="also write the table (Markdown) and a .json beside it")] = None,
    device: DeviceOption = "auto",
) -> None:
    """Evaluate models on every eval set of a suite (default: all of ../shared/data) and print one table."""
    from embedtune.config import load_suite
    from embedtune.evaluation.compare import quality_table
    from embedtune.evaluation.suite import evaluate_all, load_eval_sets
    from embedtune.modeling.load import load_model

    if out is not None:
        from embedtune.rundir import check_writable_file

        check_writable_file(out)
    eval_sets = load_eval_sets(load_suite(suite))
    columns = {}
    for index, name in enumerate(model):
        label = _short_name(name)
        label = label if label not in columns else f"{label} ({index + 1})"
        columns[label] = evaluate_all(eval_sets, load_model(model_of(name), device=device))
    table = quality_table(columns)
    typer.echo(table)
    if out is not None:
        from embedtune.rundir import write_json_atomic, write_text_atomic

        out.parent.mkdir(parents=True, exist_ok=True)
        command = "embedtune bench quality " + " ".join(f"--model {name}" for name in model) + f" --suite {suite}"
        write_text_atomic(out, f"Command: `{command}`\n\n{table}")
        write_json_atomic(out.with_suffix(".json"), columns)


def _short_name(model: str) -> str:
    return "all-MiniLM-L6-v2" if model == "default" else Path(model.rstrip("/")).name or model


@app.command()
def mine(
    documents: Annotated[Path, typer.Argument(help="documents with a category (TSV/CSV/JSONL), e.g. tickets.tsv")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder")],
    text_column: Annotated[str, typer.Option(help="text column")] = "text",
    label_column: Annotated[str, typer.Option(help="category column")] = "category",
    delimiter: Annotated[
        str | None,
        typer.Option(help="field separator of DOCS if not the suffix's (tab: .tsv/.txt, comma: .csv), e.g. ';'"),
    ] = None,
    pairs_per_category: Annotated[int, typer.Option(help="train positives and negatives per category per phase")] = 60,
    eval_fraction: Annotated[float, typer.Option(help="documents held out (stratified) before pairing")] = 0.2,
    test_fraction: Annotated[
        float, typer.Option(help="documents held out first as an untouched test split (test-suite.yaml); 0: none")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="seed of the split and the sampling")] = 0,
    out_format: Annotated[str, typer.Option("--format", help="jsonl or tsv")] = "jsonl",
    hard_negatives: Annotated[
        str, typer.Option(help="phase-3 negatives: tfidf (cosine band) or model (nearest wrong-category document)")
    ] = "tfidf",
    model: Annotated[
        str, typer.Option(help="model of the starter config.yaml, and ranking --hard-negatives model")
    ] = "default",
    overwrite: Annotated[bool, typer.Option(help="replace an earlier mine's files (other files stay)")] = False,
    device: DeviceOption = "auto",
) -> None:
    """Mine labelled pairs in three TF-IDF difficulty phases from categorised documents (train/eval split first),
    and write a starter config.yaml beside them that `embedtune train` runs as is."""
    from embedtune.data.documents import load_documents
    from embedtune.data.mining import MiningConfig, format_summary, mine_category_pairs, write_mined
    from embedtune.data.mining_writers import remove_mined
    from embedtune.data.model_negatives import with_model_hard_negatives
    from embedtune.data.starter import eval_set_prefix, write_starter_config
    from embedtune.modeling.load import load_model
    from embedtune.rundir import check_writable_dir

    if out_format not in ("jsonl", "tsv"):
        raise UserError(f"--format: expected jsonl or tsv, got '{out_format}'")
    if hard_negatives not in ("tfidf", "model"):
        raise UserError(f"--hard-negatives: expected tfidf or model, got '{hard_negatives}'")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder; choose another --out")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out}: output folder is not empty; pass --overwrite to replace its files")
    check_writable_dir(out)  # before the mining, not after it
    config = _validated(
        MiningConfig,
        pairs_per_category=pairs_per_category,
        eval_fraction=eval_fraction,
        test_fraction=test_fraction,
        seed=seed,
    )
    texts, labels = load_documents(documents, text_column, label_column, delimiter=delimiter)
    mined = mine_category_pairs(texts, labels, config)
    if hard_negatives == "model":
        mined = with_model_hard_negatives(mined, load_model(model_of(model), device=device), model, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    if overwrite:
        remove_mined(out)
    paths = write_mined(mined, out, format=out_format)
    # A local model is written as an absolute path: the config resolves relative ones from its own folder.
    model_name = str(Path(model_of(model)).resolve()) if Path(model_of(model)).exists() else model
    paths |= write_starter_config(out, paths, mined.summary, eval_set_prefix(documents), model_name)
    typer.echo(format_summary(mined.summary))
    typer.echo("wrote " + ", ".join(str(path) for path in paths.values()))
    run = Path("runs") / out.name
    typer.echo(f"next: embedtune train {paths['config']} -o {run}")
    typer.echo(
        f"then: embedtune compare default {run} --suite {paths['suite']}   (any two models, same held-out data)"
    )


@app.command()
def split(
    data: Annotated[Path, typer.Argument(help="rows to split (TSV/CSV/JSONL), e.g. a training file")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder for train.<ext> and dev.<ext>")],
    dev_fraction: Annotated[float, typer.Option(min=0.0, max=1.0, help="share of the rows in dev")] = 0.2,
    stratify: Annotated[str | None, typer.Option(help="column whose classes keep their shares, e.g. label")] = None,
    seed: Annotated[int, typer.Option(help="seed of the split")] = 0,
    delimiter: Annotated[str | None, typer.Option(help="field separator if not the suffix's")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace existing output files")] = False,
) -> None:
    """Split a file's rows into train and dev, so that a sweep chooses on dev and the data's own test split stays
    untouched (MSRP: dev from train.tsv, val.tsv kept for the final comparison)."""
    from embedtune.data.split import split_rows

    taken = [path for path in out.glob("*") if path.stem in ("train", "dev")] if out.is_dir() else []
    if taken and not overwrite:
        raise UserError(f"{out}: already holds {taken[0].name}; pass --overwrite to replace it")
    paths = split_rows(data, out, dev_fraction, stratify, seed, delimiter)
    typer.echo("wrote " + ", ".join(str(path) for path in paths.values()))


@app.command("hard-negatives")
def hard_negatives(
    pairs: Annotated[Path, typer.Argument(help="(anchor, positive) pairs file")],
    out: Annotated[Path, typer.Option("--out", "-o", help="triplets file to write (.tsv or .jsonl)")],
    model: Annotated[str, typer.Option(help="model that ranks candidates")] = "default",
    text1: Text1Option = None,
    text2: Text2Option = None,
    num_negatives: Annotated[int, typer.Option(help="negatives per pair")] = 1,
    range_max: Annotated[int, typer.Option(help="consider only the top N candidates")] = 50,
    margin: Annotated[float, typer.Option(help="skip candidates scoring above positive - margin")] = 0.05,
    seed: Annotated[int, typer.Option(help="seed")] = 0,
    device: DeviceOption = "auto",
) -> None:
    """Add a hard negative to each (anchor, positive) pair, guarding against false negatives."""
    from embedtune.data.hard_negatives import format_mining_stats, mine_hard_negatives_for_pairs
    from embedtune.data.readers import load_pairs
    from embedtune.data.spec import Columns, DataSpec
    from embedtune.modeling.load import load_model

    check_new_file(out)
    data = load_pairs(DataSpec(path=pairs, columns=Columns(text1=text1, text2=text2)))
    triplets, stats = mine_hard_negatives_for_pairs(
        load_model(model_of(model), device=device),
        data,
        num_negatives=num_negatives,
        range_max=range_max,
        margin=margin,
        seed=seed,
    )
    _write_triplets(triplets, out)
    typer.echo(format_mining_stats(stats))
    typer.echo(f"wrote {len(triplets)} triplets to {out} (columns anchor, positive, negative)")


NLI_CLASSES = "contradiction,entailment,neutral"


@app.command()
def interpolate(
    tuned: Annotated[str, typer.Argument(help="tuned model folder or run dir")],
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for the interpolated model")],
    alpha: Annotated[float, typer.Option(help="base + alpha * (tuned - base); 1 = tuned, 0 = base")] = 0.5,
    base: Annotated[
        str | None, typer.Option(help="the model the tuned one started from [default: a run dir's own model.name]")
    ] = None,
) -> None:
    """WiSE-FT: a model between the base and a tuned one in weight space (less forgetting, less gain)."""
    from embedtune.modeling.interpolation import interpolate_weights, start_of, state_copy
    from embedtune.modeling.load import load_model
    from embedtune.rundir import save_model_atomic

    check_new_file(out)
    base = base or start_of(tuned)
    model = load_model(model_of(tuned))
    interpolate_weights(model, state_copy(load_model(model_of(base))), alpha)
    save_model_atomic(model, out)
    typer.echo(f"wrote {out}: base + {alpha:g} x (tuned - base), base {base}")


@app.command("nli-triplets")
def nli_triplets_command(
    data: Annotated[Path, typer.Argument(help="NLI pairs (premise, hypothesis, class), e.g. SICK")],
    out: Annotated[Path, typer.Option("--out", "-o", help="triplets file to write (.tsv or .jsonl)")],
    text1: Text1Option = None,
    text2: Text2Option = None,
    label: Annotated[str, typer.Option(help="class column")] = "entailment",
    classes: Annotated[
        str, typer.Option(help="every class name, comma-separated")
    ] = "contradiction,entailment,neutral",
    entailment: Annotated[str, typer.Option(help="class of entailed hypotheses (the positive)")] = "entailment",
    contradiction: Annotated[str, typer.Option(help="class of contradicting ones (the negative)")] = "contradiction",
    seed: Annotated[int, typer.Option(help="seed of the contradiction drawn per premise")] = 0,
) -> None:
    """(premise, entailed, contradicting) triplets for MNRL with a hard negative, from NLI pairs."""
    from embedtune.data.nli import nli_triplets
    from embedtune.data.readers import load_pairs
    from embedtune.data.spec import Columns, DataSpec

    check_new_file(out)
    names = [name.strip() for name in classes.split(",") if name.strip()]
    for option, name in (("--entailment", entailment), ("--contradiction", contradiction)):
        if name not in names:
            raise UserError(f"{option}: '{name}' is not one of --classes {names}")
    columns = Columns(text1=text1, text2=text2, label=label)
    pairs = load_pairs(_validated(DataSpec, path=data, columns=columns, label_classes=names))
    triplets = nli_triplets(pairs, names.index(entailment), names.index(contradiction), seed=seed)
    _write_triplets(triplets, out)
    typer.echo(f"wrote {len(triplets)} triplets to {out} (columns anchor, positive, negative)")


@app.command()
def inspect(
    data: Annotated[Path, typer.Argument(help="pairs file")],
    eval_data: Annotated[Path | None, typer.Option("--eval", help="eval file to check for leakage")] = None,
    text1: Text1Option = None,
    text2: Text2Option = None,
    label: Annotated[str | None, typer.Option(help="label column")] = None,
    phase: Annotated[str | None, typer.Option(help="phase column")] = None,
    score_range: RangeOption = "0,1",
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the report as JSON")] = None,
) -> None:
    """Label balance per phase, lengths, duplicates, near-duplicates, contradictory labels, leakage."""
    from embedtune.data.inspect import format_inspection, inspect_pairs
    from embedtune.data.readers import load_pairs
    from embedtune.data.spec import Columns, DataSpec

    try:
        low, high = _score_range(score_range)
        columns = Columns(text1=text1, text2=text2, label=label, phase=phase)
        spec = DataSpec(path=data, columns=columns, score_range=(low, high))
        eval_spec = DataSpec(path=eval_data, columns=columns, score_range=(low, high)) if eval_data else None
    except ValueError as error:
        raise _option_error(error) from None
    report = inspect_pairs(load_pairs(spec), load_pairs(eval_spec) if eval_spec else None)
    typer.echo(format_inspection(report))
    if json_out is not None:
        from embedtune.rundir import write_json_atomic

        write_json_atomic(json_out, report)


from embedtune.serving import commands as _serving  # noqa: E402  (after app: the commands register on it)

for _command in (_serving.export, _serving.encode, _serving.index, _serving.search, _serving.serve):
    app.command()(_command)


def _score_range(text: str) -> tuple[float, float]:
    """``--score-range LOW,HIGH``: one line naming the option and the expected form when it is not that."""
    parts = text.split(",")
    try:
        low, high = (float(part) for part in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        low = high = None
    if low is None:
        raise UserError(f"--score-range: expected LOW,HIGH, e.g. 0,5 for STS-B, got '{text}'")
    return low, high


def _validated(model_class, **values):
    try:
        return model_class(**values)
    except ValueError as error:
        raise _option_error(error) from None


def _option_error(error: ValueError) -> UserError:
    """One line from a pydantic (or plain) ValueError: the field and what is wrong with it."""
    details = getattr(error, "errors", None)
    if callable(details):
        first = details()[0]
        field = ".".join(str(part) for part in first["loc"])
        where = f" {field}" if field else ""
        return UserError(f"bad option{where}: {first['msg'].removeprefix('Value error, ')}")
    return UserError(f"bad option: {str(error).splitlines()[0]}")


def _write_triplets(triplets, out: Path) -> None:
    import csv
    import io
    import json

    from embedtune.rundir import write_text_atomic

    rows = zip(triplets.texts1, triplets.texts2, triplets.negatives)
    if out.suffix == ".jsonl":
        text = "".join(json.dumps({"anchor": a, "positive": p, "negative": n}) + "\n" for a, p, n in rows)
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="\t" if out.suffix != ".csv" else ",", lineterminator="\n")
        writer.writerow(["anchor", "positive", "negative"])
        writer.writerows(rows)
        text = buffer.getvalue()
    write_text_atomic(out, text)


@app.command()
def losses() -> None:
    """List the training losses and the data each one needs."""
    from embedtune.config import LOSSES

    for name, loss in LOSSES.items():
        typer.echo(f"{name:<12} data: {'/'.join(loss.accepts):<22} {loss.summary}")


def _eval_sets(data, suite, task, text1, text2, label, score_range, folds, delimiter=None):
    from embedtune.config import load_suite
    from embedtune.evaluation.suite import load_eval_sets

    if (data is None) == (suite is None):
        raise UserError("pass exactly one of --data FILE or --suite SUITE.yaml")
    if suite is not None:
        if folds is not None:
            raise UserError("--folds applies to --data; in a suite, set folds: on its pairs eval sets")
        return load_eval_sets(load_suite(suite))
    config = _eval_config_from_options(data, task, text1, text2, label, score_range, folds, delimiter)
    return load_eval_sets([config])


def _eval_config_from_options(data, task, text1, text2, label, score_range, folds, delimiter=None):
    from embedtune.config import EvalSetConfig
    from embedtune.data.spec import Columns

    if task not in ("sts", "pairs"):
        raise UserError(f"--task: expected sts or pairs (other tasks: use --suite), got '{task}'")
    try:
        low, high = _score_range(score_range)
        columns = Columns(text1=text1, text2=text2, label=label or ("score" if task == "sts" else "label"))
        if folds is not None and task != "pairs":
            raise UserError(f"--folds applies to --task pairs (the F1 threshold), not --task {task}")
        options = {"folds": folds} if folds is not None else {}
        return EvalSetConfig.create(
            path=data, task=task, columns=columns, score_range=(low, high), delimiter=delimiter, **options
        )
    except ValueError as error:
        raise _option_error(error) from None


def _run_metrics(location: str) -> dict:
    path = Path(location) / "metrics.json"
    if not path.exists():
        raise UserError(f"{location}: not a finished run dir (no metrics.json); pass --data to compare models")
    return json.loads(path.read_text(encoding="utf-8"))["final"]


def _print_comparison(before: dict, after: dict, label_a: str, label_b: str, statistics: dict | None = None) -> None:
    from embedtune.evaluation.interval import Interval
    from embedtune.evaluation.report import MARKS, comparison_rows
    from embedtune.evaluation.verdict import judgement

    typer.echo(f"{'eval set':<16} {'metric':<32} {label_a:>9} {label_b:>9} {'delta':>9}  interval")
    for name, metric, x, y, delta in comparison_rows({"baseline": before, "final": after}):
        cells = [f"{v:9.4f}" if v is not None else f"{'-':>9}" for v in (x, y)]
        shown = f"{delta:+9.4f}" if delta is not None else f"{'-':>9}"
        stat = (statistics or {}).get(name, {}).get(metric) if delta is not None else None
        interval = f"  {found}" if (found := Interval.of(stat)) is not None else ""
        marker = f" {MARKS[judged]} {judged}" if (judged := judgement(metric, delta, stat)) in MARKS else ""
        typer.echo(f"{name:<16} {metric:<32} {cells[0]} {cells[1]} {shown}{interval}{marker}")


def _close_progress_bars() -> None:
    """Bars left open by an exception redraw themselves at exit, after (and over) the one-line message."""
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", [])):
        bar.close()


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        app()  # standalone: click reports usage errors itself with exit code 2
    except UserError as error:
        if STATE["debug"]:
            raise
        typer.echo(f"error: {error}", err=True)
        sys.exit(USER_ERROR_EXIT)
    except (ForgettingError, NonFiniteLossError, Interrupted) as error:
        if STATE["debug"]:
            raise
        _close_progress_bars()
        typer.echo(f"{'stopped' if isinstance(error, Interrupted) else 'error'}: {error}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        _close_progress_bars()
        typer.echo("stopped: interrupted (Ctrl-C) before anything was written", err=True)
        sys.exit(Interrupted.exit_code)
    except OSError as error:  # a write refused where no command checked it first: still one line
        if STATE["debug"]:
            raise
        where = f"{error.filename}: " if error.filename else ""
        typer.echo(f"error: {where}{error.strerror or error}", err=True)
        sys.exit(USER_ERROR_EXIT)


if __name__ == "__main__":
    main()
