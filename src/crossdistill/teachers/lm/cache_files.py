"""Cache folders of the LM teachers: a ``cache.json`` beside array files, built aside and moved into place whole.

A reader sees the old folder, no folder or the new one, never a mixture (``crossdistill.common.atomic.replace_folder``).
A build that fails removes its temporary sibling; one that is killed leaves it (``.NAME.tmp-PID``), and nothing
reads it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crossdistill.common import atomic_write_text
from crossdistill.common.atomic import replace_folder

CACHE_FILE = "cache.json"


def read_cache_meta(root: str | os.PathLike) -> dict[str, Any] | None:
    """``root/cache.json`` as a dict, or None when there is none (a folder being built has none yet)."""
    path = Path(root) / CACHE_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None


def check_cache_meta(root: Path, kind: str, expected_key: str, command: str) -> dict[str, Any]:
    """The cache.json of a cache of ``kind`` whose key is ``expected_key``; anything else is a clear error."""
    meta = read_cache_meta(root)
    if meta is None:
        raise FileNotFoundError(f"{root / CACHE_FILE} not found: build it with {command}")
    if meta.get("kind") != kind:
        raise ValueError(f"{root} is not a {kind.replace('_', ' ')} cache (kind {meta.get('kind')!r})")
    if meta.get("key") != expected_key:
        raise ValueError(
            f"the cache {root} has key {meta.get('key')}, expected {expected_key}: it was made from another LM, "
            f"units folder, alignment, transcripts or top-k; rebuild it with {command}"
        )
    return meta


@contextlib.contextmanager
def build_cache_folder(out: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``out`` to build a cache in; when the body ends it replaces ``out``
    whole, when the body fails it is removed."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and read_cache_meta(out) is None:
        raise ValueError(f"--out {out} is a non-empty folder that holds no cache; choose another folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_folder(tmp, out)


def write_cache_meta(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``cache.json`` (last, with ``bytes``: the size of the folder's array files) and return the meta."""
    meta = {**meta, "bytes": sum(path.stat().st_size for path in folder.glob("*.npz"))}
    atomic_write_text(folder / CACHE_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return meta
