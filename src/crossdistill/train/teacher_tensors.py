"""Teacher tensors for training, read from the teacher cache (never recomputed per step)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import Tensor

from crossdistill.data.corpus import Corpus


def open_teacher_lookup(
    cache_path: str | Path | None, keys: list[str], corpus: Corpus
) -> Callable[[list[str]], dict[str, Tensor]]:
    """Return ``utt_ids -> {key: tensor}`` for the teacher tensors the objective reads.

    Fails before training when the objective needs the teacher and no cache is given, when the cache was not built
    by its teacher on this corpus (its key is checked against both), or when it lacks a tensor.
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
    cache = TeacherCache.load(path, expected_key=expected_cache_key(path, corpus))
    available = set(cache.names)
    missing = sorted(set(keys) - available)
    if missing:
        raise ValueError(f"teacher cache {path} has no {missing}; it holds {sorted(available)}")

    def lookup(utt_ids: list[str]) -> dict[str, Tensor]:
        tensors = cache.lookup(utt_ids)
        return {key: tensors[key] for key in keys}

    return lookup


def expected_cache_key(cache_path: Path, corpus: Corpus) -> str:
    """The key the cache at ``cache_path`` must carry: that of its teacher (the folder its index names, or the one it
    sits in, ``<teacher>/cache/<key>``) on ``corpus`` with the cache's own options."""
    import json

    from crossdistill.teachers.text.cache import INDEX_FILE, CacheOptions, TeacherCacheError, compute_cache_key
    from crossdistill.teachers.text.model import CONFIG_FILE

    index_path = cache_path / INDEX_FILE
    if not index_path.is_file():
        raise FileNotFoundError(f"{index_path} not found: {cache_path} is not a (complete) teacher cache")
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        recorded, options = Path(index["teacher_dir"]), CacheOptions(**index["options"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise TeacherCacheError(f"{index_path}: unreadable cache index ({error})") from error
    candidates = [recorded, cache_path.absolute().parent.parent]
    teacher = next((folder for folder in candidates if (folder / CONFIG_FILE).is_file()), None)
    if teacher is None:
        raise FileNotFoundError(
            f"teacher cache {cache_path} cannot be checked: its teacher {recorded} is gone (the cache must be rebuilt "
            "from the teacher that the run distils: `crossdistill teacher cache`)"
        )
    return compute_cache_key(teacher, corpus, options)
