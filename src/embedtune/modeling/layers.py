"""Layer control for the encoder: layer-wise learning-rate decay, a separate head learning rate, and progressive
unfreezing from the top layers down.

Parameter names are those the optimizer sees through the loss (``model.0.auto_model.encoder.layer.3...``); the
transformer is module 0 of a SentenceTransformer, and everything else (pooling heads, Dense projections, parameters a
loss owns such as distillation projections) is the "head".
"""

from __future__ import annotations

import re

from transformers import TrainerCallback

from embedtune.errors import ConfigError

LAYER = re.compile(r"\.encoder\.layers?\.(\d+)\.")
#: The transformer's parameters; multi-task runs prefix names with the task (``main.loss.model.0...``).
TRANSFORMER = re.compile(r"(^|\.)model\.0\.")
HEAD_PATTERN = r"^(?!(.*\.)?model\.0\.)(?!.*log_variance$)"  # outside the encoder; learned task weights aside
LOG_VARIANCE_PATTERN = r"(^|\.)log_variance$"  # uncertainty weighting's learned log-variances (their own group)


def encoder_layer(name: str) -> int | None:
    """Index of the encoder layer a parameter belongs to; None outside the transformer; -1 for the rest of it: the
    embeddings, and what no one layer owns (MPNet's relative attention bias, used by every layer, trains last)."""
    if not TRANSFORMER.search(name):
        return None
    match = LAYER.search(name)
    return int(match.group(1)) if match else -1


def layer_count(names: list[str]) -> int:
    layers = [layer for layer in map(encoder_layer, names) if layer is not None and layer >= 0]
    if not layers:
        raise ConfigError("layer control: the model has no '.encoder.layer.N.' parameters (BERT/MPNet-style)")
    return max(layers) + 1


def layerwise_lr_mapping(names: list[str], lr: float, decay: float | None, head_lr: float | None) -> dict[str, float]:
    """Regex -> lr for ``learning_rate_mapping``: the top layer trains at ``lr``, each one below at ``decay`` times
    the one above, the embeddings (and MPNet's shared relative attention bias) below the bottom layer; the head at
    ``head_lr``. Patterns are disjoint, since a parameter in two optimizer groups is an error."""
    mapping: dict[str, float] = {}
    if decay is not None:
        count = layer_count(names)
        for layer in range(count):
            mapping[rf"(^|\.)model\.0\..*\.encoder\.layers?\.{layer}\."] = lr * decay ** (count - 1 - layer)
        # the embeddings and the shared parameters: in the transformer, in no layer
        mapping[r"(^|\.)model\.0\.(?!.*\.encoder\.layers?\.\d+\.)"] = lr * decay**count
    if head_lr is not None and any(re.search(HEAD_PATTERN, n) for n in names):  # the pattern itself decides
        mapping[HEAD_PATTERN] = head_lr
    return mapping


def trainable_layers(stages: list[tuple[float, int | None]], epoch: float) -> int | None:
    """Top encoder layers trainable at ``epoch`` (None: every layer and the embeddings), from (epoch, layers)
    stages sorted by epoch; before the first stage only the head trains (0 layers)."""
    current: int | None = 0
    for start, layers in stages:
        if epoch >= start:
            current = layers
    return current


class ProgressiveUnfreezing(TrainerCallback):
    """Freezes the encoder below the top N layers and widens N at the configured epochs.

    The optimizer is built before training begins with every parameter in it; a frozen parameter has no gradient,
    so AdamW leaves it (and its weight decay) alone until it is unfrozen. Because the stage is a function of the
    epoch, a resumed run lands in the same stage.
    """

    def __init__(self, loss, stages: list[tuple[float, int | None]]) -> None:
        self.loss = loss
        self.parameters = [(encoder_layer(n), p) for n, p in loss.named_parameters() if TRANSFORMER.search(n)]
        self.count = layer_count([n for n, _ in loss.named_parameters()])
        self.stages = sorted(stages, key=lambda stage: stage[0])
        self.current: int | None | str = "unset"

    def on_train_begin(self, args, state, control, **kwargs):
        self._apply(state.epoch or 0.0)
        outside = [p for n, p in self.loss.named_parameters() if not TRANSFORMER.search(n)]  # a head, a loss's own
        inside = [p for layer, p in self.parameters if layer is not None]
        if not any(parameter.requires_grad for parameter in [*outside, *inside]):
            from embedtune.errors import ConfigError

            first = self.stages[0][0]
            raise ConfigError(
                f"training.unfreeze: before its first stage (epoch {first:g}) only a head would train, and this model "
                "has none; start a stage at epoch 0"
            )

    def on_step_begin(self, args, state, control, **kwargs):
        self._apply(state.epoch or 0.0)

    def _apply(self, epoch: float) -> None:
        layers = trainable_layers(self.stages, epoch)
        if layers == self.current:
            return
        self.current = layers
        lowest = 0 if layers is None else self.count - layers
        for layer, parameter in self.parameters:
            if layer is None:
                continue
            parameter.requires_grad_(layers is None or (layer >= 0 and layer >= lowest and layers > 0))
