"""README stays true: its config reference is the one the code generates, and its commands exist."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from config_reference import reference  # noqa: E402


def test_config_reference_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- config-reference:start -->\n", 1)[1].split("<!-- config-reference:end -->", 1)[0]
    assert block.strip() == reference().strip(), "run: .venv/bin/python scripts/update_readme.py"


def test_readme_names_the_two_setup_commands_and_ci_uses_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_recipe_in_the_readme_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for recipe in sorted((ROOT / "recipes").glob("*.yaml")):
        assert f"recipes/{recipe.name}" in readme, recipe.name
