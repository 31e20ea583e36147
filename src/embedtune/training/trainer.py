"""The trainer: sentence-transformers' own, with an exception to weight decay and one to model swapping, and
checkpoints that hold the losses' own parameters."""

from __future__ import annotations

import os
import re

import torch
from sentence_transformers import SentenceTransformerTrainer

from embedtune.modeling.frozen_cache import trains_on_cache
from embedtune.modeling.layers import LOG_VARIANCE_PATTERN

LOSS_STATE = "loss_state.pt"


class Trainer(SentenceTransformerTrainer):
    """Uncertainty weighting's learned log-variances get no weight decay: decay would pull every task towards
    log-variance 0 (weight 1/2) whatever its noise. Their lr comes from ``training.task_weighting_lr``."""

    def get_decay_parameter_names(self, model) -> list[str]:
        return [name for name in super().get_decay_parameter_names(model) if not re.search(LOG_VARIANCE_PATTERN, name)]

    def override_model_in_loss(self, loss, model):
        """A loss training the frozen strategy's head on cached encodings keeps its head model: the trainer would
        put the full model back in at the first step, and the encoder would run every step again."""
        if trains_on_cache(getattr(loss, "model", None)):
            return loss
        return super().override_model_in_loss(loss, model)

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        """sentence-transformers checkpoints the model only; the optimizer also trains parameters the losses own
        (uncertainty weighting's log-variances, the NLI classifier, distillation projections), and a resume that
        restarted them from their initial values would not continue the same run."""
        super()._save(output_dir, state_dict)
        own = self._loss_parameters()
        if own:
            torch.save(
                {name: p.detach() for name, p in own.items()},
                os.path.join(output_dir or self.args.output_dir, LOSS_STATE),
            )

    def _load_from_checkpoint(self, checkpoint_path: str, *args, **kwargs) -> None:
        super()._load_from_checkpoint(checkpoint_path, *args, **kwargs)
        path = os.path.join(checkpoint_path, LOSS_STATE)
        if os.path.exists(path):
            saved = torch.load(path, map_location="cpu", weights_only=True)
            with torch.no_grad():
                for name, parameter in self._loss_parameters().items():
                    if name in saved:
                        parameter.copy_(saved[name])

    def _loss_parameters(self) -> dict[str, torch.Tensor]:
        """Trainable parameters of the losses that are not the model's (a frozen teacher is not saved)."""
        losses = torch.nn.ModuleDict(self.loss) if isinstance(self.loss, dict) else self.loss
        if not isinstance(losses, torch.nn.Module):
            return {}
        model = {parameter.data_ptr() for parameter in self.model.parameters()}
        return {
            name: parameter
            for name, parameter in losses.named_parameters()
            if parameter.requires_grad and parameter.data_ptr() not in model
        }
