"""Typed run configs: an omegaconf structured schema (a dataclass), a YAML file over it, ``key=value`` overrides.

A misspelled key or a wrong type fails while loading, with the file or key named, before a run writes anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


def load_structured_config(
    schema: type,
    path: str | Path | None,
    overrides: Sequence[str] | None,
    required: Sequence[str],
    what: str,
) -> DictConfig:
    """``schema`` <- YAML file ``path`` <- ``overrides`` (omegaconf dot-list); the ``required`` keys must be set.

    ``what`` names the config in errors (e.g. "LM training config"). Returns the merged config; range checks are
    the caller's.
    """
    layers = [OmegaConf.structured(schema)]
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        try:
            layers.append(OmegaConf.load(path))
        except Exception as error:  # yaml errors carry the line
            raise ValueError(f"cannot parse config {path}: {error}") from error
    where = f" in {path}" if path else ""
    try:
        if overrides:
            layers.append(OmegaConf.from_dotlist(list(overrides)))
        config = OmegaConf.merge(*layers)
        missing = sorted(key for key in required if OmegaConf.is_missing(config, key))
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None)  # omegaconf's first line does not always name the key
        at = f" (key {key})" if key else ""
        raise ValueError(f"bad {what}{where}{at}: {str(error).splitlines()[0]}") from error
    if missing:
        raise ValueError(f"{what}{where} lacks {missing}; set them in the file or as key=value overrides")
    return config


def settings_without(config: DictConfig, keys: Sequence[str], trainer_keys: Sequence[str] = ()) -> dict:
    """The resolved config as plain data without ``keys`` (and ``trainer.<key>`` for ``trainer_keys``): the settings
    that say where a run reads and writes or how fast it goes, which a resumed run may change."""
    plain = OmegaConf.to_container(config, resolve=True)
    for key in keys:
        plain.pop(key, None)
    for key in trainer_keys:
        plain.get("trainer", {}).pop(key, None)
    return plain


def _parent(plain: dict, dotted: str) -> tuple[dict | None, str]:
    """The dict that holds the nested key ``a.b.c`` (None where a parent is missing) and its last part."""
    *parents, leaf = dotted.split(".")
    node = plain
    for parent in parents:
        node = node.get(parent) if isinstance(node, dict) else None
    return (node if isinstance(node, dict) else None), leaf


def pop_dotted(plain: dict, dotted: str) -> None:
    """Remove the nested key ``a.b.c`` from plain config data, if it is there."""
    node, leaf = _parent(plain, dotted)
    if node is not None:
        node.pop(leaf, None)


def drop_when_off(plain: dict, switch: str, keys: Sequence[str]) -> None:
    """Remove the nested ``keys`` from a run's identity ``plain`` when the nested option ``switch`` is off (falsy or
    absent). An option added after runs were made counts in a run's identity only when it is used, so a run made
    before the option existed (its config lacks it) stays the same run as one with the option off."""
    node, leaf = _parent(plain, switch)
    if node is None or not node.get(leaf):
        for key in keys:
            pop_dotted(plain, key)
