"""Content fingerprints that key caches: a changed producer or config never reuses a stale cache."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def _canonical(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float | int | str | bool) or obj is None:
        return obj
    raise TypeError(f"cannot fingerprint object of type {type(obj).__name__}: {obj!r}")


def fingerprint(obj: Any, length: int = 16) -> str:
    """Hex digest of a JSON-like object (dicts are key-sorted, so key order does not matter)."""
    payload = json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()[:length]


def fingerprint_file(path: str | os.PathLike, length: int = 16, chunk_size: int = 1 << 20) -> str:
    """Hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()[:length]
