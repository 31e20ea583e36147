"""The run directory: atomic writes and a state file so nobody mistakes a partial run for a finished one."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from embedtune.errors import UserError

logger = logging.getLogger("embedtune")

STATE_FILE = "state.json"


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it over, so readers never see half a file."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, payload: object) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def save_model_atomic(model, target: Path) -> None:
    """Save into ``<target>.partial`` and rename, replacing an older ``target`` only once the new one is complete."""
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save(str(partial), safe_serialization=True)
    if target.exists():
        shutil.rmtree(target)
    os.replace(partial, target)


def check_run_dir(path: Path, overwrite: bool, resume: bool) -> None:
    """Refuse to reuse a non-empty run dir unless the user said --overwrite or --resume (checked before any work)."""
    path = Path(path)
    if resume and not (path / "checkpoints").exists():
        raise UserError(f"{path}: nothing to resume (no checkpoints/ folder)")
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: output path exists and is not a directory")
    if path.exists() and any(path.iterdir()) and not (resume or overwrite):
        raise UserError(f"{path}: output dir exists and is not empty; pass --overwrite to replace it or --resume")


def prepare_run_dir(path: Path, overwrite: bool, resume: bool) -> None:
    """Create the run dir (emptying it first for --overwrite) and prove it is writable."""
    path = Path(path)
    check_run_dir(path, overwrite, resume)
    if path.exists() and overwrite and not resume:
        shutil.rmtree(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UserError(
            f"{path}: cannot write to the output dir ({error.strerror}); choose another with --output"
        ) from None


def set_state(path: Path, state: str, **details: object) -> None:
    """``running``, ``done`` or ``failed`` (with the reason)."""
    write_json_atomic(Path(path) / STATE_FILE, {"state": state, **details})


def read_state(path: Path) -> str | None:
    file = Path(path) / STATE_FILE
    return json.loads(file.read_text(encoding="utf-8"))["state"] if file.exists() else None


def last_complete_checkpoint(checkpoints: Path) -> Path | None:
    """The newest checkpoint that was fully written; incomplete newer ones are renamed ``*.incomplete``.

    The trainer writes a checkpoint's files in place and ``trainer_state.json`` last, so a process killed while
    saving leaves a folder without a readable one. Resuming from it would fail or, worse, load half a state.
    """
    import re

    found = []
    for folder in checkpoints.glob("checkpoint-*"):
        match = re.fullmatch(r"checkpoint-(\d+)", folder.name)
        if match and folder.is_dir():
            found.append((int(match.group(1)), folder))
    for _, folder in sorted(found, reverse=True):
        if _readable_state(folder / "trainer_state.json"):
            return folder
        aside = folder.with_name(folder.name + ".incomplete")
        shutil.rmtree(aside, ignore_errors=True)  # an earlier crash at the same step
        folder.rename(aside)
        logger.warning(
            "%s was not fully written (killed while saving?); kept aside as %s.incomplete", folder, folder.name
        )
    return None


def _readable_state(path: Path) -> bool:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True
