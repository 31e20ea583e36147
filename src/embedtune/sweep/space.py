"""The search space of a sweep: a YAML file of config keys with distributions, checked against the config schema.

    metric: tickets_dev_roc_auc        # what the sweep maximises (default: the run's first eval set's primary metric)
    trial:                             # set in every trial only: short trials (--final trains without them)
      training.max_steps: 120
    params:
      training.lr: {type: float, low: 1.0e-5, high: 2.0e-4, log: true}
      strategy.name: {type: categorical, choices: [full, lora]}
      strategy.lora_r: {type: int, low: 4, high: 32, log: true, when: {strategy.name: lora}}
      loss.components.1.weight: {type: float, low: 0.1, high: 2.0}

A key is any dotted config key (``--set`` syntax, a number indexes a list). ``when`` samples a parameter only where
every named key (another parameter, or the config's own value) has the given value. :func:`load_space` tries every
parameter's bounds and choices in the config before any trial runs, so a key that does not exist or a value the
config would reject is one line naming the space file, its line and the key.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from embedtune.config.loading import parse_config, read_yaml, set_key
from embedtune.errors import ConfigError


class _Param(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: dict[str, Any] = Field(default_factory=dict, description="sample only where these keys have these values")


class _RangeParam(_Param):
    """A number between ``low`` and ``high``: the subclasses give their types and what "no step" is."""

    log: bool = False
    _no_step: ClassVar[float | None] = None

    @model_validator(mode="after")
    def _bounds(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if self.step is not None and not self.step > 0:  # Optuna would refuse it inside the first trial
            raise ValueError(f"step must be above 0, got {self.step}")
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale parameter needs low > 0, got {self.low}")
        if self.log and self.step != self._no_step:
            raise ValueError("a log-scale parameter cannot have a step")
        return self

    def corners(self) -> list:
        return [self.low, self.high]

    def suggest(self, trial, name: str):  # trial.suggest_float / trial.suggest_int
        return getattr(trial, f"suggest_{self.type}")(name, self.low, self.high, log=self.log, step=self.step)


class FloatParam(_RangeParam):
    type: Literal["float"]
    low: float
    high: float
    step: float | None = None


class IntParam(_RangeParam):
    type: Literal["int"]
    low: int
    high: int
    step: int = 1
    _no_step: ClassVar[int] = 1


class CategoricalParam(_Param):
    type: Literal["categorical"]
    choices: list[Any] = Field(min_length=1)

    def corners(self) -> list:
        return list(self.choices)

    def suggest(self, trial, name: str):
        # Optuna stores scalars only: a list or mapping choice (matryoshka_dims) is stored as its JSON text.
        labels = [_label(choice) for choice in self.choices]
        return self.choices[labels.index(trial.suggest_categorical(name, labels))]


Param = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="type")]


class PruningConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    startup_trials: int = Field(5, ge=0, description="trials that run to the end before any is pruned")
    warmup_evaluations: int = Field(1, ge=0, description="a trial's first evaluations that never prune it")


class SpaceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: str | None = Field(None, description="maximised (default: the primary metric of the first eval set)")
    direction: Literal["maximize", "minimize"] = "maximize"
    seed: int = Field(0, description="seeds the TPE sampler")
    pruning: PruningConfig = Field(default_factory=PruningConfig)
    test: str | None = Field(None, description="suite YAML no trial sees, for --final (relative to the space file)")
    trial: dict[str, Any] = Field(default_factory=dict, description="settings of every trial only (short trials)")
    params: dict[str, Param] = Field(min_length=1)


def _label(choice: Any) -> Any:
    return choice if choice is None or isinstance(choice, (bool, int, float, str)) else json.dumps(choice)


def load_space(path: Path, config_raw: dict, config_source: Path) -> SpaceConfig:
    """Read and check a space file against the raw run config it searches (every bound and choice is tried)."""
    raw = read_yaml(path)
    lines = key_lines(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a space is a mapping with a 'params' section")
    try:
        space = SpaceConfig.model_validate(raw)
    except ValidationError as error:
        errors = error.errors()  # a misspelt key first: it explains the missing one ('parms' for 'params')
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = [str(part) for part in first["loc"]]
        if loc[:1] == ["params"] and len(loc) > 2 and loc[2] in ("float", "int", "categorical"):
            del loc[2]  # pydantic's name of the union member ('params.training.lr.float.low')
        key = ".".join(loc[:2]) if loc[:1] == ["params"] and len(loc) > 1 else loc[0] if loc else ""
        field = ".".join(loc)
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        raise ConfigError(f"{path}:{lines.get(key, 1)}: {field}: {message}") from None
    _check_against_config(space, path, lines, config_raw, config_source)
    return space


def key_lines(path: Path) -> dict[str, int]:
    """Line of each top-level key and each ``params.<key>`` / ``trial.<key>`` of a space file (1-based)."""
    node = yaml.compose(path.read_text(encoding="utf-8"))
    found: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return found
    for key, value in node.value:
        found[key.value] = key.start_mark.line + 1
        if key.value in ("params", "trial") and isinstance(value, yaml.MappingNode):
            for inner, _ in value.value:
                found[f"{key.value}.{inner.value}"] = inner.start_mark.line + 1
    return found


def apply_values(config_raw: dict, values: dict[str, Any], source: str) -> dict:
    """A copy of the raw config with each dotted key set."""
    raw = copy.deepcopy(config_raw)
    for key, value in values.items():
        set_key(raw, key, value, source)
    return raw


def config_value(raw: dict, key: str) -> Any:
    """The value at a dotted key of a raw config, None where it is not set."""
    node: Any = raw
    for part in key.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def sample(space: SpaceConfig, trial, config_raw: dict) -> dict[str, Any]:
    """The trial's values, in the space's order; a parameter whose ``when`` does not hold is left out."""
    values: dict[str, Any] = dict(space.trial)
    chosen: dict[str, Any] = {}
    for key, param in space.params.items():
        current = {name: values.get(name, config_value(config_raw, name)) for name in param.when}
        if all(current[name] == wanted for name, wanted in param.when.items()):
            values[key] = chosen[key] = param.suggest(trial, key)
    return chosen


def defaults_of(space: SpaceConfig, config_raw: dict) -> dict[str, Any]:
    """The config's own values of the space's parameters, as Optuna params (for the first trial: the recipe's
    defaults at the trial budget are the point every other trial is judged against). ``when`` is read as
    :func:`sample` reads it; a value outside a parameter's range, or a parameter whose ``when`` does not hold, is
    left out (sampled)."""
    params: dict[str, Any] = {}
    values: dict[str, Any] = dict(space.trial)
    for key, param in space.params.items():
        if any(values.get(name, config_value(config_raw, name)) != wanted for name, wanted in param.when.items()):
            continue
        value = values[key] = config_value(config_raw, key)
        if isinstance(param, CategoricalParam):
            labels = [_label(choice) for choice in param.choices]
            if _label(value) in labels:
                params[key] = _label(value)
        elif value is not None and not isinstance(value, bool) and param.low <= value <= param.high:
            params[key] = value
    return params


def values_of(space: SpaceConfig, params: dict[str, Any]) -> dict[str, Any]:
    """A trial's config values from its Optuna params (a list or mapping choice is stored as its JSON text)."""
    values = {}
    for key, stored in params.items():
        param = space.params.get(key)
        if isinstance(param, CategoricalParam):
            labels = [_label(choice) for choice in param.choices]
            stored = param.choices[labels.index(stored)] if stored in labels else stored
        values[key] = stored
    return values


def _check_against_config(space: SpaceConfig, path: Path, lines: dict, config_raw: dict, source: Path) -> None:
    base = space.trial
    where = f"{path}:{lines.get('trial', 1)}: trial"
    parse_config(apply_values(config_raw, base, where), source=where)
    order = list(space.params)
    for key, param in space.params.items():
        line = lines.get(f"params.{key}", 1)
        for name in param.when:
            if name not in space.params and config_value(config_raw, name) is None and name not in base:
                raise ConfigError(
                    f"{path}:{line}: params.{key}.when: '{name}' is neither a parameter nor set in {source}"
                )
            if name in space.params and order.index(name) >= order.index(key):  # sampled in file order
                raise ConfigError(f"{path}:{line}: params.{key}.when: '{name}' is sampled later; list it first")
        for value in param.corners():
            where = f"{path}:{lines.get(f'params.{key}', 1)}: params.{key} = {value!r}"
            parse_config(apply_values(config_raw, {**base, **param.when, key: value}, where), source=where)
