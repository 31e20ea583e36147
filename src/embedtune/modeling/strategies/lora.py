"""lora: peft LoRA adapters through ``SentenceTransformer.add_adapter``; the base weights stay frozen."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import STRATEGIES, StrategyConfig
from embedtune.errors import ConfigError


@STRATEGIES.register
class LoraStrategyConfig(StrategyConfig):
    """Low-rank adapters on the named layers; model/ is saved merged (a plain model) unless merge_lora is off."""

    name: Literal["lora"] = "lora"
    lora_r: int = Field(8, ge=1, description="LoRA rank")
    lora_alpha: int = Field(16, ge=1, description="LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: float = Field(0.1, ge=0.0, lt=1.0, description="dropout on the LoRA branch")
    lora_target_modules: list[str] = Field(["query", "key", "value"], description="module names that get adapters")
    merge_lora: bool = Field(True, description="save model/ with adapters merged (plain model); adapter/ is kept too")

    summary: ClassVar = "peft LoRA adapters on the encoder; the base weights stay frozen"

    def keeps_base_shapes(self) -> bool:
        return self.merge_lora

    def check(self, model) -> None:
        """LoRA's target modules are layers of the model peft can adapt."""
        from torch import nn
        from transformers.pytorch_utils import Conv1D

        adaptable = (nn.Linear, nn.Embedding, nn.Conv1d, nn.Conv2d, Conv1D)  # the layer kinds peft's LoRA wraps
        linear = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, adaptable)}
        missing = [target for target in self.lora_target_modules if target not in linear]
        if missing:
            raise ConfigError(
                f"strategy.lora_target_modules: {missing} are not layers of the model LoRA can adapt; those are "
                f"{sorted(linear)}"
            )

    def apply(self, model) -> dict[str, float]:
        from peft import LoraConfig, TaskType

        model.add_adapter(  # the target modules were checked before the baseline (check_strategy)
            LoraConfig(
                task_type=TaskType.FEATURE_EXTRACTION,
                r=self.lora_r,
                lora_alpha=self.lora_alpha,
                lora_dropout=self.lora_dropout,
                target_modules=list(self.lora_target_modules),
            )
        )
        return {}


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


def _peft_hosts(model) -> list:
    return [m for m in model.modules() if getattr(m, "_hf_peft_config_loaded", False)]
