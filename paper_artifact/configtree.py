"""Typed loading of YAML into frozen dataclass trees, with one-line errors naming file and key.

Supported field types: int, float, str, bool, nested frozen dataclasses, `X | None`,
`tuple[X, ...]`,
`tuple[X, Y]`, `Literal[...]` and `InputPath` (a path relative to the project root that must exist).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration problem; the message names the file and the key."""


class InputPath(str):
    """A file or folder the config points to, relative to the project root; must exist."""

    def resolve(self) -> Path:
        path = Path(self)
        return path if path.is_absolute() else PROJECT_ROOT / path


# Settings that change how a result is reached (threads, memory, the SCF fallback ladder, the
# executable, labels served from a shipped file), not the result: left out of stage keys,
# grid-point ids and the DFT cache key.
RESOURCE_FIELDS = frozenset(
    {
        "threads", "max_memory_mb", "verbose", "use_gpu", "openmp_threads", "gap_fit_executable",
        "smearing_sigma", "level_shift", "damping", "max_cycle", "reuse_density_max_shift",
        "df_incore", "diis_space", "stored_labels", "diis_max_cycle",
    }
)  # fmt: skip


def without_resources(plain: Any) -> Any:
    """A plain (dict/list) config tree without RESOURCE_FIELDS keys, at any depth."""
    if isinstance(plain, dict):
        return {k: without_resources(v) for k, v in plain.items() if k not in RESOURCE_FIELDS}
    if isinstance(plain, list):
        return [without_resources(v) for v in plain]
    return plain


def build(cls: type, data: Any, source: str, where: str = "") -> Any:
    """Build dataclass `cls` from mapping `data`; `source` names the file for error messages."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: '{where or '<top>'}' must be a mapping, got {type(data).__name__}"
        )
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key '{_join(where, unknown[0])}' "
            f"(allowed: {', '.join(sorted(fields))})"
        )
    values = {}
    for name, field in fields.items():
        key = _join(where, name)
        if name in data:
            values[name] = _coerce(hints[name], data[name], source, key)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{source}: missing key '{key}'")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: invalid '{where or '<top>'}': {exc}") from exc


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _coerce(tp: Any, value: Any, source: str, key: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, source, key)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, source, key)
            except ConfigError as exc:
                errors.append(exc)
        raise (
            errors[0]
            if len(errors) == 1
            else ConfigError(
                f"{source}: '{key}' has an invalid value {value!r} for type {_name(tp)}"
            )
        )
    if origin is Literal:
        if value not in get_args(tp):
            allowed = ", ".join(repr(v) for v in get_args(tp))
            raise ConfigError(f"{source}: '{key}' must be one of {allowed}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{source}: '{key}' must be a list, got {value!r}")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, source, f"{key}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{source}: '{key}' must have {len(args)} items, got {len(value)}")
        return tuple(
            _coerce(a, v, source, f"{key}[{i}]")
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if tp is InputPath:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: '{key}' must be a path string, got {value!r}")
        path = InputPath(value)
        if not path.resolve().exists():
            raise ConfigError(f"{source}: '{key}' points to a missing file: {path.resolve()}")
        return path
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: '{key}' must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: '{key}' must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{source}: '{key}' must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: '{key}' must be a string, got {value!r}")
        return value
    raise ConfigError(f"{source}: '{key}' has unsupported type {_name(tp)}")


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def to_plain(obj: Any) -> Any:
    """Dataclass tree -> JSON-ready plain data (used for hashing and the manifest)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, str):
        return str(obj)
    return obj


def deep_merge(base: Mapping, override: Mapping) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def require_bounds(
    obj: Any,
    *,
    positive: tuple[str, ...] = (),
    non_negative: tuple[str, ...] = (),
    sizes: tuple[str, ...] = (),
) -> None:
    """ValueError naming the first field out of bounds: counts > 0 (or >= 0 where 0 switches a
    step off), cluster sizes >= 2 (one atom has no binding energy and nothing to optimise)."""
    for name in positive:
        value = getattr(obj, name)
        if value is not None and not value > 0:
            raise ValueError(f"'{name}' must be > 0, got {value}")
    for name in non_negative:
        if getattr(obj, name) < 0:
            raise ValueError(f"'{name}' must be >= 0, got {getattr(obj, name)}")
    for name in sizes:
        small = [n for n in getattr(obj, name) if n < 2]
        if small:
            raise ValueError(f"'{name}' has cluster sizes below 2: {small}")
