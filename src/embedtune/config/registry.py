"""One registry per kind of method (loss, strategy, eval task): the single source of their names.

A registry maps a lowercase name to the config class of that method, as peft's ``register_peft_method`` does.
Config validation, ``embedtune losses``, the config reference and the README read it; nothing else lists the
names. A run config keeps one mapping per method (``loss: {name: mnrl, scale: 20}``): the name picks the class
(a tagged union on ``name`` / ``task``), and a setting of another method is a one-line error naming both.
"""

from __future__ import annotations

import difflib
import re
from importlib import import_module
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, SerializeAsAny, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError, PydanticUndefined

from embedtune.data.spec import StrictModel

#: Validation context flag: the config was read back from a run dir (``load_run_config``), not written by a user.
SAVED_RUN = "saved_run"
_NAME = re.compile(r"[a-z][a-z0-9_]*")


class MethodConfig(StrictModel):
    """Base of the config class of one method; its registry's key field (``name`` / ``task``) names it."""

    #: One line for ``embedtune losses`` and the config reference.
    summary: ClassVar[str] = ""
    #: Fields every method of the kind has (the key aside); left out of "its settings".
    common_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def own_settings(cls) -> list[str]:
        """Its settings, the class's own first: every field but the key and the kind's common ones."""
        skip = {registry_of(cls).key, *cls.common_fields}
        ordered = [key for klass in cls.__mro__ for key in getattr(klass, "__annotations__", {})]
        return [key for key in dict.fromkeys(ordered) if key in cls.model_fields and key not in skip]

    @classmethod
    def aliases(cls, raw: dict) -> dict:
        """Rewrite legacy spellings in a raw mapping before the class is chosen (default: none)."""
        return raw

    @classmethod
    def create(cls, **fields: Any) -> Any:
        """The config of the method the key field names, e.g. ``EvalSetConfig.create(task="sts", path=...)``."""
        return registry_of(cls).validate(fields)


class Registry:
    """Name -> config class of one kind; ``catalog`` is the module whose import registers the built-in ones."""

    def __init__(self, base: type[MethodConfig], kind: str, key: str, default: str, catalog: str) -> None:
        self.base, self.kind, self.key, self.default, self.catalog = base, kind, key, default, catalog
        self._classes: dict[str, type[MethodConfig]] = {}
        self._loaded = False
        _REGISTRIES[base] = self

    def register(self, cls: type[MethodConfig]) -> type[MethodConfig]:
        """Class decorator: ``@LOSSES.register``. The name is the default of the key field, lowercase and unique."""
        field = cls.model_fields.get(self.key)
        name = field.default if field is not None else None
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise ValueError(f"{self.kind} {cls!r}: register a subclass of {self.base.__name__}")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"{self.kind} {cls.__name__}: '{self.key}' needs a lowercase default, got {name!r}")
        if self._classes.get(name, cls) is not cls:
            raise ValueError(f"{self.kind} name '{name}' is registered twice")
        self._classes[name] = cls
        return cls

    def unregister(self, name: str) -> None:
        self._classes.pop(name, None)

    def load(self) -> Registry:
        if not self._loaded:
            self._loaded = True
            import_module(self.catalog)
        return self

    def names(self) -> list[str]:
        return list(self.load()._classes)

    def items(self) -> list[tuple[str, type[MethodConfig]]]:
        return list(self.load()._classes.items())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.load()._classes

    def __getitem__(self, name: str) -> type[MethodConfig]:
        return self.load()._classes[name]

    def class_for(self, raw: Any) -> type[MethodConfig] | None:
        """The class a raw mapping names (the default method when it names none)."""
        name = raw.get(self.key, self.default) if isinstance(raw, dict) else None
        return self.load()._classes.get(name) if isinstance(name, str) else None

    def validate(self, raw: Any, context: dict | None = None) -> MethodConfig:
        """Validate a raw mapping as the method it names; raises pydantic's ValidationError."""
        return self._before(raw, context)

    def field(self) -> Any:
        """The annotation of a config field holding one method: validated by name, dumped with its own fields."""
        return Annotated[SerializeAsAny[self.base], BeforeValidator(self._validator)]

    def _validator(self, value: Any, info: ValidationInfo) -> Any:
        return self._before(value, info.context)

    def _before(self, value: Any, context: dict | None) -> Any:
        if isinstance(value, self.base) or not isinstance(value, dict):
            return value  # an instance is already valid; other types get pydantic's "valid dictionary" error
        raw = self.base.aliases(dict(value))
        name = raw.setdefault(self.key, self.default)
        cls = self.class_for(raw)
        if cls is None:
            known = self.names()
            close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6) if isinstance(name, str) else []
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            message = f"unknown {self.kind} {name!r}{hint}; known: {', '.join(known)}"
            raise _error(self.key, name, "unknown_method", message)
        for key in [key for key in raw if key not in cls.model_fields]:
            if (context or {}).get(SAVED_RUN) and self._unset_elsewhere(key, raw[key]):
                del raw[key]  # an older embedtune saved every method's settings; at their defaults they said nothing
            elif owners := [other for other, klass in self._classes.items() if key in klass.model_fields]:
                own = cls.own_settings()
                settings = f"its settings: {', '.join(own)}" if own else "it has no settings of its own"
                owned = ", ".join(owners[:3]) + (", ..." if len(owners) > 3 else "")
                message = f"does not apply to {self.kind} {name} ({settings}; {key} belongs to {owned})"
                raise _error(key, raw[key], "not_applicable", message)
        return cls.model_validate(raw, context=context)

    def _unset_elsewhere(self, key: str, value: Any) -> bool:
        """A setting of another method left at that method's default (or null)."""
        if value is None:
            return True
        for cls in self._classes.values():
            field = cls.model_fields.get(key)
            if field is None or (field.default is PydanticUndefined and field.default_factory is None):
                continue
            default = field.default_factory() if field.default_factory is not None else field.default
            if value == default or (isinstance(default, tuple) and value == list(default)):
                return True
        return False


_REGISTRIES: dict[type, Registry] = {}


def registry_of(cls: type) -> Registry:
    """The registry of a method config class (or of its base)."""
    for klass in cls.__mro__:
        if klass in _REGISTRIES:
            return _REGISTRIES[klass]
    raise KeyError(f"{cls.__name__} belongs to no registry")


def is_method_base(cls: Any) -> bool:
    return cls in _REGISTRIES


def _error(key: str, value: Any, kind: str, message: str) -> ValidationError:
    """A validation error located at ``key`` of the method's mapping, whose message is already user-ready."""
    error = PydanticCustomError(kind, message)  # without a context the message is used as it is
    return ValidationError.from_exception_data("config", [{"type": error, "loc": (key,), "input": value}])
