"""Saving and loading student modules: safetensors weights plus a JSON config, both written atomically.

safetensors holds tensors only, so loading never unpickles code (the weights_only guarantee).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file
from torch import nn

from crossdistill.common import atomic_path, atomic_write_text

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT_VERSION = 1


def save_module_files(
    module: nn.Module, directory: str | Path, config: dict[str, Any], extra: dict[str, Any] | None = None
) -> None:
    """Write ``module``'s weights and ``config`` to ``directory``; ``extra`` maps file names to JSON objects.

    The config is written last, so a directory with a config always has matching weights beside it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in module.state_dict().items()}
    with atomic_path(directory / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format_version": str(FORMAT_VERSION)})
    for name, obj in (extra or {}).items():
        atomic_write_text(directory / name, json.dumps(obj, indent=2, sort_keys=True) + "\n")
    payload = {"format_version": FORMAT_VERSION, **config}
    atomic_write_text(directory / CONFIG_FILE, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def load_module_files(directory: str | Path, expected_kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(config without bookkeeping keys, state dict)`` read from ``directory``.

    Raises FileNotFoundError when a file is missing and ValueError when the directory holds another kind
    of module or a format this code does not read.
    """
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    for path in (config_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: expected a saved {expected_kind} module ({CONFIG_FILE} + {WEIGHTS_FILE})"
            )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{config_path}: not valid JSON ({error})") from error
    kind = config.pop("kind", None)
    version = config.pop("format_version", None)
    if kind != expected_kind:
        raise ValueError(f"{config_path}: holds a {kind!r} module, expected {expected_kind!r}")
    if version != FORMAT_VERSION:
        raise ValueError(f"{config_path}: format_version {version!r}, this code reads {FORMAT_VERSION}")
    return config, load_file(str(weights_path))


def read_json(path: str | Path) -> Any:
    """Read a JSON file written beside a saved module (e.g. ``vocab.json``)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
