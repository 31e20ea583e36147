"""The losses a run config can name: one module per loss, each registering its config class with ``LOSSES``.

Adding a loss: write its module here (a ``LossConfig`` subclass decorated with ``@LOSSES.register``, holding its
settings and building its ``nn.Module``) and add the module's name to ``CATALOG``. Config validation,
``embedtune losses`` and the config reference read the registry; nothing else lists loss names.
"""

from __future__ import annotations

from importlib import import_module

#: One line per loss registers it; the order is the order of ``embedtune losses`` and the config reference.
CATALOG = (
    "cosine",
    "cosent",
    "mnrl",
    "group_mnrl",
    "cached_mnrl",
    "contrastive",
    "isotropy",
    "variance",
    "composite",
    "score_distill",
    "attention_distill",
    "feature_distill",
    "softmax",
)

for _module in CATALOG:
    import_module(f"{__name__}.{_module}")
