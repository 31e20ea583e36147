"""Experiment trackers: ``training.report_to`` goes to the Trainer as is; checked first so a typo or a missing
package is one line before anything runs, not a traceback after the baseline."""

from __future__ import annotations

import difflib

from embedtune.errors import UserError


def check_trackers(names: list[str]) -> None:
    """Each name must be one of the Trainer's integrations, and its package importable."""
    if not names:
        return
    from transformers.integrations.integration_utils import (
        INTEGRATION_TO_CALLBACK,
        get_available_reporting_integrations,
    )

    installed = set(get_available_reporting_integrations())
    for name in names:
        if name not in INTEGRATION_TO_CALLBACK:
            close = difflib.get_close_matches(name, list(INTEGRATION_TO_CALLBACK), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; one of {', '.join(INTEGRATION_TO_CALLBACK)}"
            raise UserError(f"training.report_to: '{name}' is not a tracker the Trainer knows{hint}")
        if name not in installed:
            raise UserError(f"training.report_to: {name} is not installed (pip install {_package(name)})")


def _package(name: str) -> str:
    return {"azure_ml": "azureml-core", "comet_ml": "comet-ml", "neptune": "neptune"}.get(name, name)
