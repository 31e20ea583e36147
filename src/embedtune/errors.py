"""User-facing errors: the CLI prints these as one line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad input, bad config, missing file). Never a bug in embedtune."""


class ConfigError(UserError):
    """The run configuration is invalid."""


class DataError(UserError):
    """A data file is unreadable or a row in it is invalid."""

    def __init__(self, path: object, problem: str, line: int | None = None, field: str | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        what = f" field '{field}':" if field is not None else ""
        super().__init__(f"{where}:{what} {problem}")
        self.path, self.line, self.field, self.problem = path, line, field, problem


class ForgettingError(Exception):
    """The tuned model lost more general semantics than allowed (retention.fail_on_forgetting); the run is kept."""

    exit_code = 3


class NonFiniteLossError(Exception):
    """A loss (or a named component of it) became NaN or infinite; training stops at the last good checkpoint."""

    exit_code = 4

    def __init__(self, what: str, step: int, value: float) -> None:
        super().__init__(
            f"{what} is {value} at step {step}; training stopped (the last checkpoint is kept). "
            "Try a lower training.lr, training.max_grad_norm, or check the data for extreme scores"
        )
        self.what, self.step, self.value = what, step, value
