"""The README's "four commands" ticket path and its "Search and serve" commands, run as written on a small generated
ticket file with the tiny model.

The commands are read from the README sections, so the test fails when the text and the code part ways. Only what
a test must change is changed: the tiny model instead of all-MiniLM-L6-v2, a few training steps, no STS-B retention
set; `serve` (which runs until stopped) is tested in tests/serving/test_serve.py.
"""

from __future__ import annotations

import random
import re
import shlex
from pathlib import Path

from helpers import ROOT, TOPICS, cli

TITLE = "## Your categorised documents in four commands"
SEARCH_TITLE = "## Search and serve"
README = ROOT / "README.md"


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    assert title in text, f"no '{title}' section in README.md"
    return text.split(title, 1)[1].split("\n## ", 1)[0]


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


def test_the_four_commands_then_index_and_search_run_end_to_end(monkeypatch, capsys, tmp_path, tiny_model_dir):
    steps = commands(section(TITLE))
    assert [args[0] for args in steps] == ["mine", "train", "compare", "interpolate"]
    search_steps = commands(section(SEARCH_TITLE))
    assert [args[0] for args in search_steps] == ["index", "search", "serve"]
    monkeypatch.chdir(tmp_path)
    write_tickets(tmp_path / "tickets.tsv")
    for args in steps + search_steps[:2]:
        code, out, err = cli(monkeypatch, capsys, *for_the_test(args, str(tiny_model_dir)))
        assert code == 0, f"{' '.join(args)}\n{out}\n{err}"
        if args[0] == "mine":
            assert f"next: embedtune train {Path('data/tickets/config.yaml')} -o {Path('runs/tickets')}" in out
    assert (tmp_path / "runs" / "tickets" / "metrics.json").exists()
    hits = out.splitlines()[1:]  # the search's table: the query, then one line per hit
    assert len(hits) == 5 and all(re.match(r" +\d\. -?\d\.\d{4}  \d+ \[\w+\]  \S", line) for line in hits), out
