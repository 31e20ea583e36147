"""README and docs stay true: generated blocks match their generators, commands and recipes exist, links resolve."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from helpers import ROOT

sys.path.insert(0, str(ROOT / "scripts"))

from config_reference import reference  # noqa: E402
from update_readme import performance_page, results_block  # noqa: E402

from embedtune.config import parse_config  # noqa: E402

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
FENCED = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def block(path: Path, name: str) -> str:
    return text(path).split(f"<!-- {name}:start -->\n", 1)[1].split(f"<!-- {name}:end -->", 1)[0]


def test_readme_is_a_front_door():
    assert len(README.read_bytes()) <= 16_000, "README.md over 16,000 bytes: move the detail to docs/"


def test_config_reference_is_current():
    assert block(ROOT / "docs" / "config.md", "config-reference").strip() == reference().strip(), (
        "run: .venv/bin/python scripts/update_readme.py"
    )


def test_speed_page_is_the_bench_results():
    assert (ROOT / "bench" / "RESULTS.md").read_text(encoding="utf-8") == performance_page(), (
        "run: .venv/bin/python scripts/update_readme.py"
    )


def test_results_tables_are_the_bench_results():
    assert block(ROOT / "docs" / "results.md", "results").strip() == results_block().strip(), (
        "run: .venv/bin/python scripts/update_readme.py"
    )


def test_readme_names_the_two_setup_commands_and_ci_uses_the_test_one():
    readme = text(README)
    assert "make demo" in readme and "make test" in readme
    assert "make test" in text(ROOT / ".ci" / "run")


def test_every_recipe_is_listed_in_the_recipes_doc_and_every_listed_recipe_exists():
    listed = text(ROOT / "docs" / "recipes.md")
    for recipe in sorted((ROOT / "recipes").glob("*.yaml")):
        assert f"`recipes/{recipe.name}`" in listed, recipe.name
    for name in re.findall(r"recipes/([a-z0-9][a-z0-9_.-]*\.yaml)", listed + text(README)):
        assert (ROOT / "recipes" / name).exists(), name
    assert "](docs/recipes.md)" in text(README)


def test_readme_config_example_is_a_valid_run_config():
    section = text(README).split("\n## A run config\n", 1)[1].split("\n## ", 1)[0]
    example = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)[0]
    config = parse_config(yaml.safe_load(example), source="README.md")
    assert config.strategy.name == "lora" and config.loss.name == "mnrl"


def heading_anchors(path: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCED.sub("", text(path)), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def relative_links(path: Path) -> list[str]:
    prose = INLINE_CODE.sub("", FENCED.sub("", text(path)))
    return [t for t in LINK.findall(prose) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file(page: Path):
    broken = []
    for link in relative_links(page):
        target, _, anchor = link.partition("#")
        resolved = (page.parent / target).resolve() if target else page
        if not resolved.exists():
            broken.append(f"{link} (no file {resolved})")
        elif anchor and resolved.suffix == ".md" and anchor not in heading_anchors(resolved):
            broken.append(f"{link} (no heading #{anchor})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_the_readme_links_every_doc():
    readme = text(README)
    for doc in DOCS:
        assert f"](docs/{doc.name})" in readme, doc.name
