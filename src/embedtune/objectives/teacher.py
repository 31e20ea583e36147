"""Teacher outputs computed once per distinct training text, looked up by the student's token ids in a batch."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import contextmanager

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


def mean_pool(token_embeddings: Tensor, attention_mask: Tensor) -> Tensor:
    mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
    return (token_embeddings * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)


def token_key(input_ids: Tensor, attention_mask: Tensor) -> tuple[int, ...]:
    return tuple(int(i) for i, m in zip(input_ids.tolist(), attention_mask.tolist()) if m)


class TeacherCache:
    """Sentence embeddings and mean-pooled hidden layers of a teacher for every distinct text, computed once.

    A loss sees token ids, not texts, so entries are keyed by the *student's* token ids of each text. Texts the
    student cannot tell apart (an uncased student, or a difference past max_seq_length) share the first one's entry.
    ``texts_encoded`` counts the texts the teacher ran on: the number of distinct texts, however long training is.
    """

    def __init__(
        self, embeddings: Tensor, layers: dict[int, Tensor], index: dict[tuple[int, ...], int], num_layers: int
    ) -> None:
        self.embeddings, self.layers, self.index = embeddings, layers, index
        self.num_layers = num_layers  # the teacher's transformer layers, for a uniform layer map
        self.texts_encoded = len(embeddings)

    @property
    def dimension(self) -> int:
        return int(self.embeddings.shape[1])

    @classmethod
    @torch.no_grad()
    def build(cls, teacher, student, texts: Iterable[str], layers: Iterable[int] = (), batch_size: int = 32):
        index: dict[tuple[int, ...], int] = {}
        distinct: list[str] = []
        for text in dict.fromkeys(texts):
            features = student.tokenize([text])
            key = token_key(features["input_ids"][0], features["attention_mask"][0])
            if key not in index:
                index[key] = len(distinct)
                distinct.append(text)
        wanted = sorted(set(layers))
        embeddings, pooled = [], {layer: [] for layer in wanted}
        teacher.eval()
        with hidden_states_enabled(teacher):
            for start in range(0, len(distinct), batch_size):
                features = teacher.tokenize(distinct[start : start + batch_size])
                features = {k: v.to(teacher.device) if isinstance(v, Tensor) else v for k, v in features.items()}
                out = teacher(features)
                embeddings.append(out["sentence_embedding"].float().cpu())
                for layer in wanted:
                    pooled[layer].append(mean_pool(out["all_layer_embeddings"][layer], out["attention_mask"]).cpu())
        logger.info("teacher: %d distinct texts encoded once (layers %s)", len(distinct), wanted or "none")
        layer_count = transformer_config(teacher).num_hidden_layers
        return cls(torch.cat(embeddings), {k: torch.cat(v).float() for k, v in pooled.items()}, index, layer_count)

    def rows(self, features: dict) -> Tensor:
        """Cache rows of a tokenised batch column; a text missing from the cache is a bug in how it was built."""
        keys = [token_key(ids, mask) for ids, mask in zip(features["input_ids"], features["attention_mask"])]
        missing = [k for k in keys if k not in self.index]
        if missing:
            raise KeyError(f"{len(missing)} batch texts have no teacher outputs; the cache covers the training texts")
        return torch.tensor([self.index[k] for k in keys], dtype=torch.long)
