"""User-facing errors: the CLI prints these as one line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad input, bad config, missing file). Never a bug in embedtune."""


class ConfigError(UserError):
    """The run configuration is invalid."""


class UnmeasuredMetricError(ConfigError):
    """The metric chosen for selection is not one the eval sets measure."""

    def __init__(self, metric: str, known: list[str]) -> None:
        super().__init__(f"training.metric_for_best_model: '{metric}' is not measured; choose one of {known}")
        self.metric, self.known = metric, known


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


class Interrupted(Exception):
    """Ctrl-C during a run: the message says how far it got and the command that resumes it."""

    exit_code = 130  # the shell's code for a process ended by SIGINT


class ResourceError(UserError):
    """The machine ran out of something (disk, memory, permission) mid-run; the message says what to try next."""


def resource_error(error: BaseException, batch_size: int | None = None) -> ResourceError | None:
    """A one-line ResourceError for a full disk, a failed allocation or a refused write; None for anything else."""
    import errno

    text = str(error)
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" writing {error.filename}" if error.filename else ""
        return ResourceError(
            f"disk full{where}; free space, or keep fewer checkpoints (training.save_total_limit: 1) and retry with "
            "--resume"
        )
    if isinstance(error, PermissionError):
        return ResourceError(f"permission denied writing {error.filename or 'the run dir'}; choose another --output")
    out_of_memory = isinstance(error, MemoryError) or (
        isinstance(error, RuntimeError) and ("out of memory" in text.lower() or "can't allocate memory" in text)
    )
    if out_of_memory:
        smaller = f" (now {batch_size})" if batch_size else ""
        return ResourceError(
            f"out of memory in a training batch; try a smaller training.batch_size{smaller} with "
            "training.gradient_accumulation_steps to keep the effective batch, loss.name: cached_mnrl for in-batch "
            "negatives, or a lower model.max_seq_length"
        )
    return None
