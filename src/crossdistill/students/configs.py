"""Dataclass configs to and from plain dicts (JSON, YAML, omegaconf), with errors naming the bad key."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def config_to_dict(config: Any) -> dict[str, Any]:
    """Return a dataclass config as a JSON-ready dict (nested dataclasses become dicts, tuples lists)."""
    return _plain(dataclasses.asdict(config))


def config_from_dict(cls: type[T], data: Mapping[str, Any] | T | None, where: str = "config") -> T:
    """Build dataclass ``cls`` from a mapping; missing keys keep their defaults.

    Accepts an instance of ``cls`` (returned as is), a plain dict or an omegaconf ``DictConfig``. An unknown
    key raises ValueError naming it and the known keys, so a typo in a YAML file never goes unnoticed.
    """
    if data is None:
        return cls()
    if isinstance(data, cls):
        return data
    data = to_container(data)
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known keys: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _convert(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    return cls(**kwargs)


def _convert(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return config_from_dict(hint, value, where)
    origin = typing.get_origin(hint)
    if origin in (list, tuple) and isinstance(value, list | tuple):
        return list(value) if origin is list else tuple(value)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            if dataclasses.is_dataclass(option) and isinstance(value, Mapping):
                return config_from_dict(option, value, where)
    if origin is dict and isinstance(value, Mapping):
        return dict(value)
    return value


def to_container(data: Any) -> Any:
    try:
        from omegaconf import DictConfig, OmegaConf
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        return data
    if isinstance(data, DictConfig):
        return OmegaConf.to_container(data, resolve=True)
    return data


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj
