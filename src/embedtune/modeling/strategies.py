"""Training strategies: which weights a run updates.

``full`` trains everything. ``lora`` delegates to peft through ``SentenceTransformer.add_adapter``.
``frozen`` freezes the encoder and trains a projection head (``Dense``, a stock sentence-transformers module,
so the saved model loads anywhere) inserted after pooling.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import torch
from torch import nn

from embedtune.config import StrategyConfig
from embedtune.errors import ConfigError

logger = logging.getLogger("embedtune")


def apply_strategy(model, config: StrategyConfig, learning_rate: float) -> dict[str, float]:
    """Prepare ``model`` in place for ``config.name``; returns extra learning rates by parameter-name pattern."""
    if config.name == "lora":
        _add_lora(model, config)
        lr_mapping = {}
    elif config.name == "frozen":
        lr_mapping = _freeze_and_add_head(model, config)
    else:
        lr_mapping = {}
    trainable, total = parameter_counts(model)
    logger.info(
        "strategy %s: %s of %s parameters trainable (%.2f%%)",
        config.name,
        f"{trainable:,}",
        f"{total:,}",
        100 * trainable / max(total, 1),
    )
    return lr_mapping


def parameter_counts(model: nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def check_strategy(model, config: StrategyConfig) -> None:
    """What can be checked against the loaded model before anything is written: LoRA's target modules exist."""
    if config.name != "lora":
        return
    from transformers.pytorch_utils import Conv1D

    adaptable = (nn.Linear, nn.Embedding, nn.Conv1d, nn.Conv2d, Conv1D)  # the layer kinds peft's LoRA wraps
    linear = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, adaptable)}
    missing = [target for target in config.lora_target_modules if target not in linear]
    if missing:
        raise ConfigError(
            f"strategy.lora_target_modules: {missing} are not layers of the model LoRA can adapt; those are "
            f"{sorted(linear)}"
        )


def _add_lora(model, config: StrategyConfig) -> None:
    from peft import LoraConfig, TaskType

    check_strategy(model, config)
    model.add_adapter(
        LoraConfig(
            task_type=TaskType.FEATURE_EXTRACTION,
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=list(config.lora_target_modules),
        )
    )


def merge_lora(model) -> None:
    """Fold LoRA weights into the base layers and drop peft, so ``model.save`` writes a plain model."""
    from peft.tuners.lora import LoraLayer

    for transformer in _peft_hosts(model):
        for name, module in list(transformer.named_modules()):
            if isinstance(module, LoraLayer):
                module.merge()
                parent_name, _, child = name.rpartition(".")
                setattr(transformer.get_submodule(parent_name), child, module.get_base_layer())
        for attribute in ("peft_config",):
            if hasattr(transformer, attribute):
                delattr(transformer, attribute)
        transformer._hf_peft_config_loaded = False


def _peft_hosts(model) -> list[nn.Module]:
    return [m for m in model.modules() if getattr(m, "_hf_peft_config_loaded", False)]


def _freeze_and_add_head(model, config: StrategyConfig) -> dict[str, float]:
    from sentence_transformers.sentence_transformer.modules import Dense, Pooling

    for parameter in model.parameters():
        parameter.requires_grad = False
    width = model.get_embedding_dimension()
    head = _projection(Dense, config.projection, width, config.projection_dim or width)
    modules = list(model._modules.values())
    pooling_at = next((i for i, m in enumerate(modules) if isinstance(m, Pooling)), len(modules) - 1)
    modules.insert(pooling_at + 1, head)
    model._modules = OrderedDict((str(i), module) for i, module in enumerate(modules))
    if config.projection_learning_rate is None:
        return {}
    return {rf"(^|\.){pooling_at + 1}\.": config.projection_learning_rate}


def _projection(dense_cls, kind: str, width: int, out_dim: int) -> nn.Module:
    """Start at (or near) the identity so step 0 reproduces the base model: no forgetting before learning."""
    if kind == "mlp":
        # tanh(Wx + b) + x with W = 0 is exactly x; the residual keeps the encoder's geometry available.
        if out_dim != width:
            return dense_cls(width, out_dim, activation_function=nn.Tanh(), use_residual=True)
        return dense_cls(
            width,
            width,
            activation_function=nn.Tanh(),
            use_residual=True,
            init_weight=torch.zeros(width, width),
            init_bias=torch.zeros(width),
        )
    if out_dim != width:
        return dense_cls(width, out_dim, activation_function=None)
    return dense_cls(
        width, width, activation_function=None, init_weight=torch.eye(width), init_bias=torch.zeros(width)
    )
