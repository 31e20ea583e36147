"""Teacher outputs computed once per distinct training text, looked up by the student's token ids in a batch."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

logger = logging.getLogger("embedtune")


def transformer_config(model):
    """The Hugging Face config of a SentenceTransformer's first module (plain or peft-wrapped)."""
    return model[0].auto_model.config


@contextmanager
def hidden_states_enabled(model):
    """Make the transformer return every layer's hidden states (``all_layer_embeddings``) inside the block only,
    so a saved model keeps its original config."""
    config = transformer_config(model)
    before = getattr(config, "output_hidden_states", False)
    config.output_hidden_states = True
    try:
        yield
    finally:
        config.output_hidden_states = before


@contextmanager
def attentions_captured(model):
    """Inside the block every forward of ``model`` appends its per-layer attention probabilities to the yielded
    list. Needs eager attention (sdpa computes no probabilities), so the block switches to it and back."""
    auto_model = model[0].auto_model
    config = transformer_config(model)
    before = (getattr(config, "output_attentions", False), config._attn_implementation)
    captured: list = []
    if before[1] != "eager":  # before output_attentions: transformers refuses it under sdpa
        auto_model.set_attn_implementation("eager")
    config.output_attentions = True
    original = auto_model.forward

    def forward(*args, **kwargs):  # sentence-transformers calls .forward directly, so a forward hook never fires
        output = original(*args, **kwargs)
        captured.append(output.attentions)
        return output

    auto_model.forward = forward
    try:
        yield captured
    finally:
        del auto_model.forward  # back to the class's method
        config.output_attentions = before[0]
        if before[1] != "eager":
            auto_model.set_attn_implementation(before[1])


def word_attention(attention: Tensor, word_ids: list[int | None]) -> Tensor:
    """Token attention (heads averaged, ``[T, T]``) as attention between words: the mean over a word's query
    tokens of the attention summed over its key tokens, rows renormalised over words (special tokens and padding
    drop out). Two tokenisers that split the same words differently give maps of the same size this way."""
    length = min(len(word_ids), attention.shape[-1])
    member = _membership(tuple(word_ids[:length])).to(attention.device, attention.dtype)
    queries = member / member.sum(dim=0, keepdim=True).clamp_min(1.0)
    mapped = queries.T @ attention[:length, :length] @ member
    return mapped / mapped.sum(dim=1, keepdim=True).clamp_min(1e-12)


@lru_cache(maxsize=65536)
def _membership(word_ids: tuple[int | None, ...]) -> Tensor:
    """Token x word 0/1 matrix; cached because the loss rebuilds it for the same texts every epoch."""
    words = max((w for w in word_ids if w is not None), default=-1) + 1
    member = torch.zeros(len(word_ids), words)
    for token, word in enumerate(word_ids):
        if word is not None:
            member[token, word] = 1.0
    return member


def mean_pool(token_embeddings: Tensor, attention_mask: Tensor) -> Tensor:
    mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
    return (token_embeddings * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)


def token_key(input_ids: Tensor, attention_mask: Tensor) -> tuple[int, ...]:
    return tuple(int(i) for i, m in zip(input_ids.tolist(), attention_mask.tolist()) if m)


class TeacherCache:
    """Teacher outputs for every distinct training text, computed once: sentence embeddings, mean-pooled hidden
    layers and (for attention distillation) word-level attention maps of chosen layers.

    A loss sees token ids, not texts, so entries are keyed by the *student's* token ids of each text. Texts the
    student cannot tell apart (an uncased student, or a difference past max_seq_length) share the first one's entry.
    ``texts_encoded`` counts the distinct texts the cache holds, however long training is (with a store, the teacher
    ran only on those no earlier run stored).
    """

    def __init__(
        self,
        embeddings: Tensor,
        layers: dict[int, Tensor],
        index: dict[tuple[int, ...], int],
        num_layers: int,
        attention: dict[int, list[Tensor]] | None = None,
        student_words: list[list[int | None]] | None = None,
    ) -> None:
        self.embeddings, self.layers, self.index = embeddings, layers, index
        self.num_layers = num_layers  # the teacher's transformer layers, for a uniform layer map
        self.attention = attention or {}  # teacher layer (1-based) -> word-level map of each row
        self.student_words = student_words or []  # each row's word of each student token (None: special)
        self.texts_encoded = len(embeddings)

    @property
    def dimension(self) -> int:
        return int(self.embeddings.shape[1])

    @classmethod
    @torch.no_grad()
    def build(
        cls,
        teacher,
        student,
        texts: Iterable[str],
        layers: Iterable[int] = (),
        batch_size: int = 32,
        attention_layers: Iterable[int] = (),
        store: Path | None = None,
    ):
        """``store``: a file of earlier outputs of this teacher (same layers): only texts it lacks are encoded, and
        they are added to it. Runs that share training texts (an ablation, a sweep) then pay the teacher once."""
        distinct, index, student_words = _distinct_by_student_tokens(student, texts)
        wanted, attending = sorted(set(layers)), sorted(set(attention_layers))
        outputs = _read_store(store)
        todo = [text for text in distinct if not _holds(outputs.get(text), wanted, attending)]
        fresh: dict = {}  # text -> outputs encoded now
        teacher.eval()
        with hidden_states_enabled(teacher), maybe_attentions_captured(teacher, bool(attending)) as captured:
            for start in range(0, len(todo), batch_size):
                batch = todo[start : start + batch_size]
                encoding = teacher.tokenizer(
                    batch,
                    padding=True,
                    truncation="longest_first",
                    max_length=teacher.max_seq_length,
                    return_tensors="pt",
                )
                out = teacher({k: v.to(teacher.device) for k, v in encoding.items()})
                pooled = {
                    layer: mean_pool(out["all_layer_embeddings"][layer], out["attention_mask"]).float().cpu()
                    for layer in wanted
                }
                attentions = captured.pop() if attending else None
                for row, text in enumerate(batch):
                    maps = {
                        layer: word_attention(
                            attentions[layer - 1][row].float().mean(dim=0).cpu(), encoding.word_ids(row)
                        )
                        for layer in attending
                    }
                    embedding = out["sentence_embedding"][row].float().cpu()
                    fresh[text] = (embedding, {layer: pooled[layer][row] for layer in wanted}, maps)
        logger.info(
            "teacher: %d distinct texts, %d encoded now (layers %s)", len(distinct), len(todo), wanted or "none"
        )
        if store is not None and fresh:
            _write_store(store, fresh)  # merged there with what the store holds (other runs' layers stay)
        rows = [fresh.get(text) or outputs[text] for text in distinct]
        embeddings = torch.stack([row[0] for row in rows])
        pooled_layers = {layer: torch.stack([row[1][layer] for row in rows]) for layer in wanted}
        maps = {layer: [row[2][layer] for row in rows] for layer in attending}
        layer_count = transformer_config(teacher).num_hidden_layers
        return cls(embeddings, pooled_layers, index, layer_count, maps, student_words)

    def rows(self, features: dict) -> Tensor:
        """Cache rows of a tokenised batch column; a text missing from the cache is a bug in how it was built."""
        rows, known = self.known_rows(features)
        if not bool(known.all()):
            missing = int((~known).sum())
            raise KeyError(f"{missing} batch texts have no teacher outputs; the cache covers the training texts")
        return rows

    def known_rows(self, features: dict) -> tuple[Tensor, Tensor]:
        """Cache rows of the batch texts the cache holds, and which batch texts those are (a boolean mask)."""
        keys = [token_key(ids, mask) for ids, mask in zip(features["input_ids"], features["attention_mask"])]
        known = torch.tensor([k in self.index for k in keys], dtype=torch.bool)
        return torch.tensor([self.index[k] for k in keys if k in self.index], dtype=torch.long), known


STORE_FORMAT = 1  # bump when what an entry holds changes: older files are then simply not found


def teacher_store(folder: str, max_seq_length: int | None) -> Path | None:
    """Where this teacher's outputs are kept between runs: under $EMBEDTUNE_TEACHER_CACHE when set, else nowhere.

    The file name hashes the teacher's resolved folder, its config files' contents, its weights files (size, mtime)
    and max_seq_length; each text's entry holds the layers some run asked for, and a run needing others encodes that
    text again."""
    from embedtune.modeling.load import resolve_model_path

    root = os.environ.get("EMBEDTUNE_TEACHER_CACHE")
    if not root:
        return None
    resolved = Path(resolve_model_path(folder))
    files = sorted(p for pattern in ("*", "*/*") for p in resolved.glob(pattern) if p.is_file())
    identity: list = [STORE_FORMAT, str(resolved), max_seq_length]
    for path in files:
        if path.suffix == ".json":
            identity.append((str(path.relative_to(resolved)), path.read_text(encoding="utf-8", errors="replace")))
        elif path.suffix == ".safetensors":
            identity.append((str(path.relative_to(resolved)), path.stat().st_size, path.stat().st_mtime_ns))
    digest = hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()[:20]
    return Path(root) / f"teacher-{digest}.pt"


def _holds(entry, layers, attention_layers) -> bool:
    return entry is not None and set(layers) <= set(entry[1]) and set(attention_layers) <= set(entry[2])


def _read_store(store: Path | None) -> dict:
    if store is None or not store.exists():
        return {}
    try:
        found = torch.load(store, weights_only=True)
    except Exception as error:  # a truncated or foreign file: recompute rather than fail the run
        logger.warning("teacher cache %s unreadable (%s); encoding again", store, type(error).__name__)
        return {}
    if not isinstance(found, dict):
        logger.warning("teacher cache %s is not a teacher cache; encoding again", store)
        return {}
    return found


def _write_store(store: Path, outputs: dict) -> None:
    """Merge ``outputs`` into the store under a lock: two runs sharing it keep each other's entries."""
    import fcntl

    store.parent.mkdir(parents=True, exist_ok=True)
    with open(store.with_name(f"{store.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = _read_store(store)
        for text, (embedding, layers, maps) in outputs.items():
            _, kept_layers, kept_maps = merged.get(text, (None, {}, {}))
            merged[text] = (embedding, {**kept_layers, **layers}, {**kept_maps, **maps})
        partial = store.with_name(f"{store.name}.{os.getpid()}.partial")
        torch.save(merged, partial)
        os.replace(partial, store)  # a reader never sees half a file


def _distinct_by_student_tokens(student, texts: Iterable[str]):
    """Texts the student tokenises differently, their index by token ids, and each one's student word ids."""
    index: dict[tuple[int, ...], int] = {}
    distinct: list[str] = []
    words: list[list[int | None]] = []
    for text in dict.fromkeys(texts):
        encoding = student.tokenizer([text], truncation="longest_first", max_length=student.max_seq_length)
        key = tuple(encoding["input_ids"][0])
        if key not in index:
            index[key] = len(distinct)
            distinct.append(text)
            words.append(encoding.word_ids(0))
    return distinct, index, words


@contextmanager
def maybe_attentions_captured(model, enabled: bool):
    if not enabled:
        yield None
        return
    with attentions_captured(model) as captured:
        yield captured


def check_teachers(model, losses) -> None:
    """Before anything is written: every teacher folder exists and is a SentenceTransformer folder, and every
    ``layer_map`` index is a layer of the student (keys) and of the teacher (values). ``losses``: LossConfigs."""
    from embedtune.errors import ConfigError

    student = transformer_config(model).num_hidden_layers
    for leaf in (leaf for loss in losses for leaf in loss.leaves()):
        if getattr(leaf, "teacher", None) is None:  # not a distillation loss
            continue
        teacher = student if leaf.teacher == "self" else _teacher_layer_count(leaf.teacher)
        if not isinstance(getattr(leaf, "layer_map", None), dict):
            continue
        what, low = leaf.layer_kind
        for s, t in leaf.layer_map.items():
            if not (low <= s <= student and low <= t <= teacher):
                raise ConfigError(
                    f"loss.layer_map: {s} -> {t} is out of range ({what} {low}..{student} of the student, "
                    f"{low}..{teacher} of the teacher" + ("; 0 is the embeddings" if low == 0 else "") + ")"
                )


def _teacher_layer_count(folder: str) -> int:
    """The teacher's layer count, read from its config files (the weights load later, once)."""
    import json
    from pathlib import Path

    from transformers import AutoConfig

    from embedtune.errors import ConfigError

    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"loss.teacher: {folder} not found; give a local SentenceTransformer folder")
    try:
        modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
        first = root / modules[0].get("path", "")
        return int(AutoConfig.from_pretrained(str(first), local_files_only=True).num_hidden_layers)
    except (OSError, ValueError, KeyError, IndexError, AttributeError, TypeError) as error:
        raise ConfigError(
            f"loss.teacher: {folder} is not a SentenceTransformer folder ({str(error).splitlines()[0]})"
        ) from None
