"""Teacher tensors for training, read from the teacher cache (never recomputed per step)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import Tensor


def open_teacher_lookup(cache_path: str | Path | None, keys: list[str]) -> Callable[[list[str]], dict[str, Tensor]]:
    """Return ``utt_ids -> {key: tensor}`` for the teacher tensors the objective reads.

    Fails before training when the objective needs the teacher and no cache is given, or the cache lacks a key.
    """
    if cache_path is None:
        raise ValueError(
            f"the objective reads teacher outputs {keys} but teacher_cache is not set; "
            "build one with `crossdistill teacher cache --teacher DIR --corpus DIR` and pass teacher_cache=PATH"
        )
    from crossdistill.teachers.text.cache import TeacherCache

    path = Path(cache_path)
    if not path.exists():
        raise FileNotFoundError(f"teacher cache {path} does not exist; build it with `crossdistill teacher cache`")
    cache = TeacherCache.load(path)
    available = set(cache.names)
    missing = sorted(set(keys) - available)
    if missing:
        raise ValueError(f"teacher cache {path} has no {missing}; it holds {sorted(available)}")

    def lookup(utt_ids: list[str]) -> dict[str, Tensor]:
        tensors = cache.lookup(utt_ids)
        return {key: tensors[key] for key in keys}

    return lookup
