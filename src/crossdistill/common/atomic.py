"""Atomic file writing: a killed process never leaves a file that a later run would trust.

Everything is written to a temporary sibling and moved into place with ``os.replace``, which is atomic on
POSIX file systems when source and destination share a directory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    Use it with writers that want a file name (``torch.save``, ``safetensors.save_file``, ``soundfile``).
    The temporary name keeps the final suffix so that writers that sniff the extension still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_current_umask())  # mkstemp creates 0600; give the usual permissions
        with open(tmp_path, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def replace_folder(finished: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move the complete folder ``finished`` to ``target``, replacing what is there; ``target`` is at every moment
    either the old folder or the new one (both renames are atomic; the old folder is deleted afterwards)."""
    import shutil

    finished, target = Path(finished), Path(target)
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
    os.replace(finished, target)
    if old is not None:
        shutil.rmtree(old)
