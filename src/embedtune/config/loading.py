"""Reading a run config: YAML, ``--set`` overrides, validation into one-line errors, and path resolution.

Unknown keys are errors with a did-you-mean suggestion; ``--set a.b=value`` overrides are applied to the raw
mapping before validation so they are checked exactly like the file. A setting of another method than the one
named (``loss: {name: mnrl, margin: 0.3}``) is an error naming the key and the method; only a config read back
from a run dir may carry other methods' settings at their defaults (older embedtune saved them all).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from embedtune.config.methods import EvalSetConfig, TeacherLossConfig
from embedtune.config.registry import SAVED_RUN, is_method_base, registry_of
from embedtune.config.sections import DEFAULT_MODEL, RunConfig, SuiteConfig
from embedtune.data.spec import DataSpec
from embedtune.errors import ConfigError


def load_config(path: Path, overrides: list[str] = ()) -> RunConfig:
    """Read a YAML run config, apply ``a.b=value`` overrides, validate. Relative data paths resolve from the file."""
    raw = read_yaml(path)
    if raw is None and overrides:  # an empty file: the --set keys are the whole config
        raw = {}
    for override in overrides:
        _apply_override(raw, override)
    overridden = tuple(override.partition("=")[0].strip() for override in overrides)
    return config_from_raw(raw, path, overridden=overridden)


def config_from_raw(raw: Any, path: Path, source: str | None = None, overridden: tuple[str, ...] = ()) -> RunConfig:
    """Validate a raw config read from ``path`` (or derived from it: a sweep's trial, named by ``source``) and
    resolve its paths. An error in the file as written names its line; one under an ``overridden`` key does not."""
    lines = None if source is not None else _LineFinder(path, overridden)
    config = _resolve_paths(parse_config(raw, source=source or str(path), lines=lines), path.parent)
    if config.data.suite is not None:
        config.data.eval = [*config.data.eval, *load_suite(config.data.suite)]
        config.data.suite = None  # inlined: the saved config.yaml is self-contained
    return config


def load_suite(path: Path) -> list[EvalSetConfig]:
    """The eval sets of a suite file, with paths resolved from the suite file's folder."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a suite is a mapping with an 'evaluators' list")
    try:
        suite = SuiteConfig.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(f"{_LineFinder(path).where(first)}: {_describe(first, SuiteConfig, raw)}") from None
    for eval_set in suite.evaluators:
        _resolve_eval_set(eval_set, path.parent)
    return suite.evaluators


def parse_config(
    raw: Any, source: str = "<config>", saved_run: bool = False, lines: _LineFinder | None = None
) -> RunConfig:
    """Validate a raw mapping. ``saved_run``: it is a run dir's config.yaml, whose older versions hold every
    method's settings; those of other methods are dropped when at their defaults (a user's config is strict).
    ``lines``: the file the mapping was read from, so an error names its line."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping of sections, got {type(raw).__name__}")
    try:
        return RunConfig.model_validate(raw, context={SAVED_RUN: saved_run})
    except ValidationError as error:
        first = error.errors()[0]
        where = lines.where(first) if lines is not None else source
        raise ConfigError(f"{where}: {_describe(first, RunConfig, raw)}") from None


class _LineFinder:
    """``path:line`` of a validation error's key in the YAML file, or just ``path`` when the key is not written
    there (it came from ``--set``, or the error is about a whole section). A missing key: the line of its section."""

    def __init__(self, path: Path, overridden: tuple[str, ...] = ()) -> None:
        self.path, self.overridden = path, overridden

    def where(self, error: dict) -> str:
        loc = [str(part) for part in error["loc"]]
        dotted = ".".join(loc)
        if any(dotted == key or dotted.startswith(f"{key}.") for key in self.overridden):
            return str(self.path)
        line = _key_line(self.path, loc[:-1] if error["type"] == "missing" else loc)
        return f"{self.path}:{line}" if line else str(self.path)


def _key_line(path: Path, loc: list[str]) -> int | None:
    """1-based line of the key at ``loc`` (mapping keys and list indices) in a YAML file; None if it is not there."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((key, value) for key, value in node.value if str(key.value) == part), None)
            if found is None:
                return None
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return None
    return line


def dump_config(config: RunConfig) -> str:
    """YAML of every setting, each method with its own settings only."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def load_run_config(run_dir: Path) -> RunConfig:
    """The resolved config a run saved (paths absolute, defaults filled)."""
    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        raise ConfigError(f"{run_dir}: no config.yaml (not an embedtune run dir)")
    return parse_config(read_yaml(path), source=str(path), saved_run=True)


def config_differences(saved: RunConfig, given: RunConfig) -> list[str]:
    """``key (saved -> given)`` for every setting that differs, output_dir aside."""
    before, after = _flat(saved.model_dump(mode="json")), _flat(given.model_dump(mode="json"))
    keys = [key for key in dict.fromkeys([*before, *after]) if key != "output_dir"]
    return [f"{key} ({before.get(key)!r} -> {after.get(key)!r})" for key in keys if before.get(key) != after.get(key)]


def resumed_config(run_dir: Path, given: RunConfig | None) -> RunConfig:
    """A resume continues the run as it started: its saved config, unchanged. A config that differs is refused."""
    saved = load_run_config(run_dir)
    if given is None:
        return saved
    changed = run_changes(saved, given)
    if changed:
        raise ConfigError(
            f"{run_dir}: --resume would change the run: {', '.join(changed)}; resume without a config (the "
            "run's own config.yaml is used) or start a new run"
        )
    return _moved(saved, given)


def run_changes(saved: RunConfig, given: RunConfig) -> list[str]:
    """What running ``given`` would change in a run saved with ``saved``. Not a change: guard sets left to their
    defaults (the ones the run found stand), and where it computes and what it reports to."""
    if given.retention.guard_sets() is None:
        kept = {key: getattr(saved.retention, key) for key in ("sets", "data", "metric")}
        given = given.model_copy(update={"retention": given.retention.model_copy(update=kept)})
    return config_differences(_moved(saved, given), given)


def _moved(saved: RunConfig, given: RunConfig) -> RunConfig:
    """The saved run computing where ``given`` says and reporting to its trackers (may change between sessions)."""
    moved = {key: getattr(given.training, key) for key in ("device", "report_to")}
    return saved.model_copy(update={"training": saved.training.model_copy(update=moved)})


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def input_paths(config: RunConfig) -> tuple[Path, ...]:
    """Every file or folder the run reads: data, eval sets, the model and teachers given as folders."""
    specs = [config.data.train, *(task.data for task in config.data.tasks)]
    if config.data.rehearsal is not None:
        specs.append(config.data.rehearsal.data)
    found = [spec.path for spec in specs if spec is not None]
    guarded = [guard.data for guard in config.retention.guard_sets() or ()]
    for eval_set in [*config.data.eval, *guarded]:
        found += [eval_set.path, *(path for path, _ in _eval_set_files(eval_set))]
    teachers = [leaf.teacher for leaf in _teacher_leaves(config) if leaf.teacher != "self"]
    found += [Path(name) for name in (config.model.name, *teachers) if Path(name).exists()]
    return tuple(Path(path) for path in found if path is not None)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config ({error})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: {problem}") from None


def _apply_override(raw: dict, override: str) -> None:
    key, sep, value = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {override!r}: expected key.path=value, e.g. training.lr=3e-5")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    if "#" in value and not isinstance(parsed, (list, dict)):  # YAML would read the rest as a comment
        parsed = value
    set_key(raw, key.strip(), parsed, f"--set {override!r}")


def set_key(raw: dict, key: str, value: Any, source: str) -> None:
    """Set a dotted key in a raw config mapping; a number indexes a list (``loss.components.0.weight``)."""
    *parents, leaf = key.split(".")
    node: Any = raw
    for part in parents:
        node = _item(node, part, source) if isinstance(node, list) else node.setdefault(part, {})
        if not isinstance(node, (dict, list)):
            raise ConfigError(f"{source}: '{part}' is not a section")
    if isinstance(node, list):
        _item(node, leaf, source)
        node[int(leaf)] = value
    else:
        node[leaf] = value


def _item(items: list, part: str, source: str) -> Any:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(f"{source}: '{part}' is not an item of the list (it has {len(items)})")
    return items[int(part)]


def _describe(error: dict, root: Any = RunConfig, raw: Any = None) -> str:
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown key '{location}'{_suggestion(error['loc'], root, raw)}"
    if error["type"] == "missing":
        return f"missing required key '{location}'"
    if error["type"] == "not_applicable":
        return f"'{location}' {error['msg']}"
    message = error["msg"].removeprefix("Value error, ")
    return f"'{location}': {message}" if location else message


def _suggestion(loc: tuple, root: Any, raw: Any = None) -> str:
    """Did-you-mean among the keys of the section the unknown key is in; a method's section is its own class."""
    model: Any = root
    node = raw
    for part in loc[:-1]:
        node = _child(node, part)
        if isinstance(part, int):
            model = _method_class(model, node)  # an item of a list of methods: its own name picks its class
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return ""
        model = _model_of(field.annotation)
        if model is None:
            return ""
        if not isinstance(node, list):
            model = _method_class(model, node)
    names = list(model.model_fields) if hasattr(model, "model_fields") else []
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else f"; valid keys: {', '.join(names)}"


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _method_class(model: Any, node: Any) -> Any:
    """A method's base class resolved to the class its raw mapping names; any other model as it is."""
    if not is_method_base(model):
        return model
    return registry_of(model).class_for(node if isinstance(node, dict) else {}) or model


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside an annotation such as ``DataSpec | None`` or ``list[EvalSetConfig]``."""
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _resolve_spec(spec: DataSpec | None, base: Path) -> None:
    if spec is not None and not spec.path.is_absolute():
        spec.path = (base / spec.path).resolve()


def _eval_set_files(eval_set: EvalSetConfig) -> list[tuple[Path, str]]:
    """The further files an eval task reads (a threshold set, queries, corpus, index), with their field names."""
    found = []
    for key in eval_set.own_settings():
        value = getattr(eval_set, key)
        if isinstance(value, DataSpec):
            found.append((value.path, key))
        elif isinstance(value, Path):
            found.append((value, key))
    return found


def _resolve_eval_set(eval_set: EvalSetConfig, base: Path) -> None:
    _resolve_spec(eval_set, base)
    for key in eval_set.own_settings():
        value = getattr(eval_set, key)
        if isinstance(value, DataSpec):
            _resolve_spec(value, base)
        elif isinstance(value, Path) and not value.is_absolute():
            setattr(eval_set, key, (base / value).resolve())


def _teacher_leaves(config: RunConfig) -> list[TeacherLossConfig]:
    losses = [config.loss, *(task.loss for task in config.data.tasks)]
    return [leaf for loss in losses for leaf in loss.leaves() if isinstance(leaf, TeacherLossConfig)]


def _resolve_paths(config: RunConfig, base: Path) -> RunConfig:
    rehearsal = config.data.rehearsal.data if config.data.rehearsal is not None else None
    for spec in (config.data.train, rehearsal, *(task.data for task in config.data.tasks)):
        _resolve_spec(spec, base)
    for eval_set in [*config.data.eval, *(guard.data for guard in config.retention.guard_sets() or ())]:
        _resolve_eval_set(eval_set, base)
    if config.data.suite is not None and not config.data.suite.is_absolute():
        config.data.suite = (base / config.data.suite).resolve()
    model_path = base / config.model.name
    if config.model.name != DEFAULT_MODEL and not Path(config.model.name).is_absolute() and model_path.exists():
        config.model.name = str(model_path.resolve())
    for leaf in _teacher_leaves(config):
        if leaf.teacher == "self" or Path(leaf.teacher).is_absolute():
            continue
        if (base / leaf.teacher).exists():
            leaf.teacher = str((base / leaf.teacher).resolve())
    return config
