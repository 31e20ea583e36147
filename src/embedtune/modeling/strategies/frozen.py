"""frozen: the encoder is frozen and a projection head after pooling trains (a stock ``Dense`` module)."""

from __future__ import annotations

from collections import OrderedDict
from typing import ClassVar, Literal

from pydantic import Field

from embedtune.config.methods import STRATEGIES, StrategyConfig


@STRATEGIES.register
class FrozenStrategyConfig(StrategyConfig):
    """Encoder frozen; a linear or residual-MLP head after pooling trains, starting as (near) the identity."""

    name: Literal["frozen"] = "frozen"
    projection: Literal["linear", "mlp"] = Field("linear", description="head on the frozen encoder")
    projection_dim: int | None = Field(None, ge=1, description="output size of the head; None keeps the model's")
    projection_learning_rate: float | None = Field(None, gt=0, description="head learning rate; None uses training.lr")
    cache_embeddings: bool = Field(
        True, description="encode each training text once and train the head on the cache (not with distillation)"
    )

    summary: ClassVar = "encoder frozen; a projection head after pooling trains"

    def keeps_base_shapes(self) -> bool:
        return False

    def apply(self, model) -> dict[str, float]:
        from sentence_transformers.sentence_transformer.modules import Dense, Pooling

        for parameter in model.parameters():
            parameter.requires_grad = False
        width = model.get_embedding_dimension()
        head = projection_head(Dense, self.projection, width, self.projection_dim or width)
        modules = list(model._modules.values())
        pooling_at = next((i for i, m in enumerate(modules) if isinstance(m, Pooling)), len(modules) - 1)
        modules.insert(pooling_at + 1, head)
        model._modules = OrderedDict((str(i), module) for i, module in enumerate(modules))
        if self.projection_learning_rate is None:
            return {}
        # the head's own module index under the model (a bare "2." would also match a loss's layer_projections.2)
        return {rf"(^|\.)model\.{pooling_at + 1}\.": self.projection_learning_rate}


def projection_head(dense_cls, kind: str, width: int, out_dim: int):
    """Start at the identity, or (mlp) as near as the sizes allow, so step 0 reproduces the base model (no forgetting
    before learning): a smaller mlp head keeps the first ``out_dim`` dimensions, a larger one pads with zeros.

    mlp is ``tanh(Wx + b) + Rx`` with ``W = 0``: exactly ``Rx``, where ``R`` is the identity (the residual of equal
    sizes) or, between sizes, that truncating / zero-padding map, trainable like ``W``. linear is ``Wx + b`` with
    ``W`` the identity at equal sizes (a random projection otherwise, as it always was).
    """
    import torch
    from torch import nn

    if kind == "mlp":
        head = dense_cls(
            width,
            out_dim,
            activation_function=nn.Tanh(),
            use_residual=True,
            init_weight=torch.zeros(out_dim, width),
            init_bias=torch.zeros(out_dim),
        )
        if out_dim != width:
            with torch.no_grad():
                head.residual.weight.copy_(torch.eye(out_dim, width))
        return head
    if out_dim != width:
        return dense_cls(width, out_dim, activation_function=None)
    return dense_cls(
        width, width, activation_function=None, init_weight=torch.eye(width), init_bias=torch.zeros(width)
    )
