"""WiSE-FT for a tuned ticket model, with the interpolation weight chosen on data that is never reported.

    .venv/bin/python bench/tickets_wise.py [--run bench/out/tickets-rehearsal]

For alpha in 0.1 .. 0.9, ``base + alpha * (tuned - base)`` is measured on a 1,500-pair sample of STS-B *train*
(never trained on, never reported). The largest alpha whose drop there stays within the forgetting tolerance (0.01)
is chosen, and only that model is measured on the held-out ticket split and STS-B dev, against the untuned model
with paired-bootstrap intervals. Writes bench/results/tickets_wise.md for the default run, else
bench/results/tickets_wise-<run name>.md.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STSB_TRAIN = ROOT.parent / "shared" / "data" / "stsb" / "train.tsv"
GRID = [round(0.05 * k, 2) for k in range(1, 20)]
TOLERANCE = 0.01


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "bench" / "out" / "tickets-rehearsal")
    args = parser.parse_args()

    import yaml
    from tickets_svm import knn_against_svm_line

    from embedtune.config import EvalSetConfig, StatisticsConfig, load_suite
    from embedtune.data.spec import Columns
    from embedtune.evaluation.compare import paired_statistics
    from embedtune.evaluation.interval import Interval
    from embedtune.evaluation.suite import load_eval_sets, measure
    from embedtune.modeling.interpolation import interpolate_weights, state_copy
    from embedtune.modeling.load import load_model

    length = yaml.safe_load((args.run / "config.yaml").read_text(encoding="utf-8"))["model"]["max_seq_length"]
    base = load_model("default", length)  # measured at the length the run trained and was measured at
    tuned_state = state_copy(load_model(str(args.run / "model"), length))
    base_state = state_copy(base)
    selection = load_eval_sets(
        [
            EvalSetConfig.create(
                name="stsb_train_sample",
                path=STSB_TRAIN,
                task="sts",
                columns=Columns(label="score"),
                score_range=(0, 5),
                sample=1500,
                sample_seed=0,
            )
        ]
    )
    key = "stsb_train_sample_spearman"
    reference = measure(selection, base).metrics["stsb_train_sample"][key]
    lines, chosen = [], None
    model = load_model("default", length)
    for alpha in GRID:
        model.load_state_dict(tuned_state)
        interpolate_weights(model, base_state, alpha)
        value = measure(selection, model).metrics["stsb_train_sample"][key]
        lines.append(f"| {alpha:.2f} | {value:.4f} | {value - reference:+.4f} |")
        if value - reference >= -TOLERANCE:
            chosen = alpha
    if chosen is None:
        raise SystemExit("no alpha keeps the STS-B train sample within the tolerance")
    model.load_state_dict(tuned_state)
    interpolate_weights(model, base_state, chosen)
    held_out = load_eval_sets(load_suite(ROOT / "suites" / "tickets-heldout.yaml"))
    before, after = measure(held_out, base), measure(held_out, model)
    statistics = paired_statistics(held_out, before, after, StatisticsConfig())
    out = [
        f"Command: `python bench/tickets_wise.py --run {args.run.resolve().relative_to(ROOT)}` — untuned MiniLM vs "
        f"base + alpha * (tuned - base), both at max_seq_length {length}.",
        "",
        f"Selection (STS-B train, 1,500-pair sample; untuned Spearman {reference:.4f}):",
        "",
        "| alpha | Spearman | drop |",
        "|---:|---:|---:|",
        *lines,
        "",
        f"Chosen alpha = {chosen:.2f} (largest with a drop within {TOLERANCE}). Held-out ticket split and STS-B dev:",
        "",
        "| eval set | metric | untuned | interpolated | delta [95% paired bootstrap] |",
        "|---|---|---:|---:|---:|",
    ]
    for name, values in after.metrics.items():
        for metric, value in values.items():
            if metric.endswith("threshold"):
                continue
            found = Interval.of(statistics.get(name, {}).get(metric))
            interval = f" {found.format(digits=3)}{' *' if found.excludes_zero else ''}" if found else ""
            start = before.metrics[name][metric]
            out.append(f"| {name} | {metric} | {start:.4f} | {value:.4f} | {value - start:+.4f}{interval} |")
    out.append(knn_against_svm_line(model))
    text = "\n".join(out) + "\n"
    name = "tickets_wise" if args.run.name == "tickets-rehearsal" else f"tickets_wise-{args.run.name}"
    (ROOT / "bench" / "results" / f"{name}.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
