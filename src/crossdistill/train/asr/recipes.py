"""Find a training recipe by the ``recipe:`` key of its config and run it (see the contract in ``__init__``)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

PACKAGE = "crossdistill.train.asr"
ENTRY_POINTS = ("load_config", "train")


def known_recipes() -> list[str]:
    """Recipe modules present in this build, by name (not imported: a broken recipe must not hide the others)."""
    package = importlib.import_module(PACKAGE)
    return sorted(info.name for info in pkgutil.iter_modules(package.__path__) if _is_recipe_name(info.name))


def _is_recipe_name(name: str) -> bool:
    # Recipe modules are named like their recipe; helpers (hybrid_data, seq2seq_eval, ...) carry an underscore.
    return name.isidentifier() and "_" not in name and name != "recipes"


def read_recipe(path: str | Path, overrides: list[str] | None = None) -> str:
    """The ``recipe`` a config file (with overrides) names; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        layers = [OmegaConf.load(path)]
        if overrides:
            layers.append(OmegaConf.from_dotlist(list(overrides)))
        recipe = OmegaConf.merge(*layers).get("recipe")
    except OmegaConfBaseException as error:
        raise ValueError(f"cannot read config {path}: {error}".splitlines()[0]) from error
    except Exception as error:  # yaml errors carry the line
        raise ValueError(f"cannot parse config {path}: {error}") from error
    if not recipe:
        raise ValueError(f"config {path} names no recipe: add a top-level `recipe:` ({', '.join(known_recipes())})")
    return str(recipe)


def recipe_module(recipe: str) -> ModuleType:
    """The module of ``recipe``, checked to expose the contract's entry points."""
    if not _is_recipe_name(recipe):
        raise ValueError(f"unknown recipe {recipe!r}; known: {', '.join(known_recipes())}")
    try:
        module = importlib.import_module(f"{PACKAGE}.{recipe}")
    except ModuleNotFoundError as error:
        if error.name == f"{PACKAGE}.{recipe}":
            raise ValueError(f"unknown recipe {recipe!r}; known: {', '.join(known_recipes())}") from None
        raise
    missing = [entry for entry in ENTRY_POINTS if not callable(getattr(module, entry, None))]
    if missing:
        raise ValueError(f"recipe module {module.__name__} lacks {missing}")
    return module


def run_recipe(path: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Load the config with its recipe's ``load_config`` and run its ``train``."""
    module = recipe_module(read_recipe(path, overrides))
    return module.train(module.load_config(path, list(overrides or [])))
