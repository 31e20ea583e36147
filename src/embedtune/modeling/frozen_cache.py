"""frozen strategy: the frozen encoder's pooled output is computed once per distinct text, then looked up.

The losses get a model made of a lookup and the trainable head (the same module objects as the run's model), so after
the first epoch a step runs only the head. The run's model itself is untouched: checkpoints, evaluation and model/
are the full model. The encoder runs in eval mode for the cache (no dropout): the frozen weights see each text once.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from embedtune.objectives.teacher import token_key

logger = logging.getLogger("embedtune")


class CachedEncoding(nn.Module):
    """A sentence-transformers module standing in for the frozen modules up to pooling: ``sentence_embedding`` per
    row, from the cache, computing (and keeping) only the rows it has not seen. The frozen modules are held, not
    registered: they are the run model's, and have no parameter to train here."""

    def __init__(self, frozen: list[nn.Module]) -> None:
        super().__init__()
        self._frozen = frozen
        self.store: dict[tuple[int, ...], torch.Tensor] = {}
        self.encoded = 0  # rows the encoder ran for: the first epoch's, and evaluation texts never

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        keys = [token_key(ids, mask) for ids, mask in zip(features["input_ids"], features["attention_mask"])]
        missing, pending = [], set()
        for row, key in enumerate(keys):
            if key not in self.store and key not in pending:
                missing.append(row)
                pending.add(key)
        if missing:
            self._encode(features, keys, missing)
        features["sentence_embedding"] = torch.stack([self.store[key] for key in keys])
        return features

    def _encode(self, features: dict, keys: list, rows: list[int]) -> None:
        batch = {name: value[rows] for name, value in features.items() if isinstance(value, torch.Tensor)}
        modes = [module.training for module in self._frozen]
        with torch.no_grad():
            for module in self._frozen:
                module.eval()
                batch = module(batch)
        for module, mode in zip(self._frozen, modes):
            module.train(mode)
        for row, embedding in zip(rows, batch["sentence_embedding"]):
            self.store[keys[row]] = embedding
        self.encoded += len(rows)

    def tokenize(self, *args, **kwargs):
        return self._frozen[0].tokenize(*args, **kwargs)


def cached_head_model(model):
    """A SentenceTransformer of the lookup and the modules after pooling (the trainable head, normalisation)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    modules = list(model._modules.values())
    pooling_at = next(i for i, module in enumerate(modules) if isinstance(module, Pooling))
    lookup = CachedEncoding(modules[: pooling_at + 1])
    # Pass-throughs keep every later module at its index, so lr patterns by name (the head's own lr) still match.
    keep_places = [PassThrough() for _ in range(pooling_at)]
    return SentenceTransformer(modules=[lookup, *keep_places, *modules[pooling_at + 1 :]], device=str(model.device))


class PassThrough(nn.Module):
    """Holds the place of a frozen module the lookup stands in for."""

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return features


def trains_on_cache(model) -> bool:
    """Whether ``model`` is a head model from :func:`cached_head_model`."""
    return (
        model is not None
        and hasattr(model, "_modules")
        and isinstance(next(iter(model.children()), None), CachedEncoding)
    )
