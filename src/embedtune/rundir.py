"""The run directory: atomic writes and a state file so nobody mistakes a partial run for a finished one."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from embedtune.errors import UserError

logger = logging.getLogger("embedtune")

STATE_FILE = "state.json"


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it over, so readers never see half a file."""
    write_bytes_atomic(path, lambda stream: stream.write(text.encode("utf-8")))


def write_bytes_atomic(path: Path, write) -> None:
    """``write(stream)`` into a temporary binary file beside ``path``, renamed over it once complete."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes 0600: others could not read the result
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def follow_umask(root: Path) -> None:
    """Give everything under ``root`` the mode the umask allows (transformers writes weights via a 0600 temp file)."""
    mask = current_umask()
    for path in [Path(root), *Path(root).rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)


def write_json_atomic(path: Path, payload: object) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def save_model_atomic(model, target: Path) -> None:
    """Save into ``<target>.partial`` and rename, replacing an older ``target`` only once the new one is complete."""
    with folder_atomic(target) as partial:
        model.save(str(partial), safe_serialization=True)
        follow_umask(partial)


@contextmanager
def folder_atomic(target: Path) -> Iterator[Path]:
    """Yield ``<target>.partial`` to fill: it replaces ``target`` when the block ends, and is removed if it fails."""
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    created = [parent for parent in partial.parents if not parent.exists()]  # innermost first
    partial.mkdir(parents=True)
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        for parent in created:  # a refused export or index leaves no empty folders behind either
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise
    if target.exists():
        shutil.rmtree(target)
    os.replace(partial, target)


# What a run writes into its dir; --overwrite removes these and nothing else.
RUN_ENTRIES = (
    "model",
    "tensorboard",
    "adapter",
    "checkpoints",
    "config.yaml",
    "history.jsonl",
    "metrics.json",
    "statistics.json",
    "report.md",
    "report.html",
    STATE_FILE,
)


def check_run_dir(path: Path, overwrite: bool, resume: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse an output dir that would lose a user's file or cannot be written; checked before any model loads.

    ``--overwrite`` replaces only an earlier embedtune run (a dir with ``state.json``), never the working folder,
    the home folder, or a folder holding one of the run's ``inputs`` (config, data, model).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: output path exists and is not a directory")
    if resume:
        _check_resumable(path)
        return
    if path.exists() and any(path.iterdir()):
        if not overwrite:
            raise UserError(f"{path}: output dir exists and is not empty; pass --overwrite to replace it or --resume")
        _check_replaceable(path, inputs)
    check_writable_dir(path)


def _check_resumable(path: Path) -> None:
    state = read_state(path) if path.is_dir() else None
    if state == "done":
        raise UserError(f"{path}: run is done, nothing to resume (use --overwrite to train it again)")
    if not (path / "checkpoints").exists():
        raise UserError(f"{path}: nothing to resume (no checkpoints/ folder)")


def _check_replaceable(path: Path, inputs: tuple[Path, ...]) -> None:
    resolved = path.resolve()
    protected = {Path.cwd().resolve(): "the working folder", Path.home().resolve(): "the home folder"}
    if resolved in protected or resolved == Path(resolved.anchor):
        what = protected.get(resolved, "the file system root")
        raise UserError(f"{path}: --overwrite refuses {what}; choose a run dir with --output")
    if resolved in Path.cwd().resolve().parents:
        raise UserError(f"{path}: --overwrite refuses a parent of the working folder; choose a run dir with --output")
    for item in inputs:
        if resolved in Path(item).resolve().parents:
            raise UserError(f"{path}: --overwrite refuses a folder holding an input of this run ({item})")
    if not (path / STATE_FILE).exists():
        raise UserError(
            f"{path}: not an embedtune run dir (no {STATE_FILE}); --overwrite replaces only earlier runs, so choose "
            "another --output or remove the folder yourself"
        )


def check_writable_dir(path: Path) -> None:
    """Prove a folder can be created (or written) at ``path`` without leaving anything behind."""
    path = Path(path)
    existing = next((p for p in (path, *path.absolute().parents) if p.exists()), None)
    try:
        if existing is None or not existing.is_dir():
            raise NotADirectoryError(0, "not a directory", str(existing))
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".embedtune-write-test-"))
    except OSError as error:
        raise UserError(
            f"{path}: cannot write there ({error.strerror or error}); choose another output location"
        ) from None


def check_writable_file(path: Path) -> None:
    """Before the work: the file ``path`` could be written (its folder exists or can be made, and is writable)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a directory; give a file name")
    check_writable_dir(path.parent)


def check_new_file(path: Path, overwrite: bool | None = None) -> None:
    """Before the work: an output that must not exist yet (``overwrite=None``: the command has no --overwrite; False:
    it has one, not given) and must be writable."""
    path = Path(path)
    if path.exists() and not overwrite:
        hint = "choose another --out" if overwrite is None else "pass --overwrite to replace it"
        raise UserError(f"{path}: exists; {hint}")
    check_writable_file(path)


def prepare_run_dir(path: Path, overwrite: bool, resume: bool) -> None:
    """Create the run dir (for --overwrite, first removing the earlier run's files, and only those)."""
    path = Path(path)
    if path.exists() and overwrite and not resume:
        _remove_run_entries(path)
    try:
        path.mkdir(parents=True, exist_ok=True)  # check_run_dir has proven the location writable
    except OSError as error:
        raise UserError(
            f"{path}: cannot write to the output dir ({error.strerror}); choose another with --output"
        ) from None


def _remove_run_entries(path: Path) -> None:
    for entry in path.iterdir():
        if not _run_owned(entry.name):
            logger.warning("--overwrite: kept %s (not written by embedtune)", entry)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _run_owned(name: str) -> bool:
    """A run entry, a ``model.partial`` from an interrupted save, or a ``.report.md.x1y2.tmp`` of an atomic write."""
    stem = name.removesuffix(".partial")
    if name.startswith(".") and name.endswith(".tmp"):
        stem = name[1:].rsplit(".", 2)[0]
    return stem in RUN_ENTRIES


def remove_checkpoints(path: Path) -> None:
    """A finished run needs no checkpoints (they exist for --resume and best-model selection)."""
    shutil.rmtree(Path(path) / "checkpoints", ignore_errors=True)


def set_state(path: Path, state: str, **details: object) -> None:
    """``running``, ``done`` or ``failed`` (with the reason)."""
    write_json_atomic(Path(path) / STATE_FILE, {"state": state, **details})


def read_state(path: Path) -> str | None:
    return read_state_record(path).get("state")


def read_state_record(path: Path) -> dict:
    """The whole state.json (``{}`` when absent or unreadable: a run killed before writing it)."""
    try:
        return json.loads((Path(path) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


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
