"""The README's "four commands" ticket path, run as written on a small generated ticket file with the tiny model.

The commands and the Python snippet are read from the README section, so the test fails when the text and the
code part ways. Only what a test must
change is changed: the tiny model instead of all-MiniLM-L6-v2, a few training steps, no STS-B retention set.
"""

from __future__ import annotations

import random
import re
import shlex
from pathlib import Path

from helpers import ROOT, TOPICS, cli

TITLE = "## Your categorised documents in four commands"
SOURCES = (ROOT / "README.md",)


def ticket_path_section() -> str:
    for source in SOURCES:
        text = source.read_text(encoding="utf-8") if source.exists() else ""
        if TITLE in text:
            return text.split(TITLE, 1)[1].split("\n## ", 1)[0]
    raise AssertionError(f"no '{TITLE}' section in {[str(s) for s in SOURCES]}")


def code_blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def commands(section: str) -> list[list[str]]:
    """The embedtune commands of the bash block, without the program name."""
    lines = [shlex.split(line, comments=True) for line in code_blocks(section, "bash")[0].splitlines()]
    return [args[1:] for args in lines if args and args[0].endswith("embedtune")]


def write_tickets(path: Path, per_category: int = 12, seed: int = 0) -> Path:
    """4 categories x 12 tickets, each a few words of its topic's sentences plus a number, so no two are equal."""
    rng = random.Random(seed)
    rows = []
    for topic, sentences in TOPICS.items():
        words = " ".join(sentences).split()
        rows += [f"{' '.join(rng.sample(words, 6))} {topic} {i}\t{topic}" for i in range(per_category)]
    path.write_text("text\tcategory\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def for_the_test(args: list[str], tiny_model: str) -> list[str]:
    """The README command with the tiny model in place of the default one, and a short, local training run."""
    command, *rest = args
    if command == "train":
        sets = ["model.name=" + tiny_model, "training.max_steps=3", "retention.enabled=false"]
        return [command, *rest, *(part for value in sets for part in ("--set", value))]
    if command == "compare":
        return [command, *(tiny_model if arg == "default" else arg for arg in rest), "--resamples", "100"]
    if command == "interpolate":
        return [command, *rest, "--base", tiny_model]
    return args


def test_the_four_commands_and_the_snippet_run_end_to_end(monkeypatch, capsys, tmp_path, tiny_model_dir):
    section = ticket_path_section()
    steps = commands(section)
    assert [args[0] for args in steps] == ["mine", "train", "compare", "interpolate"]
    monkeypatch.chdir(tmp_path)
    write_tickets(tmp_path / "tickets.tsv")
    for args in steps:
        code, out, err = cli(monkeypatch, capsys, *for_the_test(args, str(tiny_model_dir)))
        assert code == 0, f"{' '.join(args)}\n{out}\n{err}"
        if args[0] == "mine":
            assert f"next: embedtune train {Path('data/tickets/config.yaml')} -o {Path('runs/tickets')}" in out
    assert (tmp_path / "runs" / "tickets" / "metrics.json").exists()
    printed: list[str] = []
    monkeypatch.setattr("builtins.print", lambda *values, **_: printed.append(" ".join(map(str, values))))
    exec(compile(code_blocks(section, "python")[0], "four-commands snippet", "exec"), {})
    assert len(printed) == 2 and all(re.match(r"-?\d\.\d{3}  \S", line) for line in printed)
