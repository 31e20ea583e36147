"""The eval tasks a run config or suite can name: one module per task, each registering with ``EVAL_TASKS``.

Adding a task: its module here (an ``EvalSetConfig`` subclass decorated with ``@EVAL_TASKS.register``, holding its
own settings and building its evaluator) and its name in ``CATALOG``.
"""

from __future__ import annotations

from importlib import import_module

#: One line per task registers it; the order is the config reference's.
CATALOG = (
    "sts",
    "pairs",
    "separability",
    "reranking",
    "retrieval",
    "knn",
    "category_pairs",
    "isotropy",
    "adversarial",
)

for _module in CATALOG:
    import_module(f"{__name__}.{_module}")
