"""The teacher cache: logits, normalized entropy and dropout confidence D for every utterance of a corpus.

The teacher is frozen during distillation, so its outputs are computed once, per unique transcript, and
fanned out to utterances by a row index. A cache is a folder::

    tensors.safetensors   per unique transcript: logits/<head> (U, C), entropy/<head> (U,), confidence/<head> (U,)
    index.json            the key, what produced it, utt_ids and the row of each, the unique transcripts

It is keyed by a fingerprint of the teacher (weights file bytes and config), the options (N, p, seed,
dropout site, i.e. the reading of D), the corpus label set and every (utt_id, transcript) pair, so a changed
teacher, option or corpus never reuses a stale cache. It is built in a temporary sibling folder and renamed
into place, so a folder with ``index.json`` is always complete. By default it lives under
``<teacher_dir>/cache/<key>/``; nothing is ever written into the corpus.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from crossdistill.common import atomic_write_text, fingerprint, fingerprint_file
from crossdistill.data.corpus import Corpus
from crossdistill.kd import DEFAULT_DROPOUT_SITE, DEFAULT_N_MASKS, DEFAULT_P, DROPOUT_SITES
from crossdistill.teachers.text.examples import check_transcripts, normalize_transcript, unique_texts
from crossdistill.teachers.text.inference import compute_teacher_outputs
from crossdistill.teachers.text.model import WEIGHTS_FILE, check_label_set, load_teacher, read_teacher_config

# 2: D's default reading became dropout on T's centred logits (format 1 dropped the raw logits under the name
# "logits"); a format-1 cache is never read, so its D cannot pass for the new reading.
CACHE_FORMAT_VERSION = 2
TENSORS_FILE = "tensors.safetensors"
INDEX_FILE = "index.json"
CACHE_DIR = "cache"


class TeacherCacheError(ValueError):
    """A cache that cannot serve the request: wrong key, missing utterance, unreadable or foreign folder."""


@dataclass(frozen=True)
class CacheOptions:
    """How the cached values are computed.

    Fields:
      n_masks, p: N and p of the dropout confidence D (paper 000, eq. 4; the paper uses 100 and 0.1).
      seed: seeds D's dropout masks (per head and transcript).
      dropout_site: the reading of D, one of ``crossdistill.kd.DROPOUT_SITES`` (see ``crossdistill.kd.confidence``).
    """

    n_masks: int = DEFAULT_N_MASKS
    p: float = DEFAULT_P
    seed: int = 0
    dropout_site: str = DEFAULT_DROPOUT_SITE

    def __post_init__(self) -> None:
        if int(self.n_masks) != self.n_masks or self.n_masks < 1:
            raise ValueError(f"--n-masks must be an integer >= 1, got {self.n_masks}")
        if not 0.0 <= self.p < 1.0:
            raise ValueError(f"--p must lie in [0, 1), got {self.p}")
        if self.dropout_site not in DROPOUT_SITES:
            raise ValueError(f"--dropout-site must be one of {DROPOUT_SITES}, got {self.dropout_site!r}")


def corpus_transcripts(corpus: Corpus) -> list[tuple[str, str]]:
    """Return (utt_id, normalized transcript) for every utterance of every split; rejects empty ones."""
    pairs = []
    for split, utterances in corpus.splits.items():
        check_transcripts(utterances, split)
        pairs.extend((u.utt_id, normalize_transcript(u.transcription)) for u in utterances)
    return pairs


def compute_cache_key(teacher_dir: str | Path, corpus: Corpus, options: CacheOptions) -> str:
    """Return the cache key of (teacher, options, corpus); raises if the teacher's labels differ from the corpus's."""
    teacher_dir = Path(teacher_dir)
    config = read_teacher_config(teacher_dir)
    check_label_set(config, corpus.labels, where=f"the corpus {corpus.root}")
    weights = teacher_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} not found (incomplete teacher folder)")
    return fingerprint(
        {
            "format": CACHE_FORMAT_VERSION,
            "teacher_weights": fingerprint_file(weights),
            "teacher_config": config.to_dict(),
            "options": asdict(options),
            "labels": corpus.labels.fingerprint(),
            "transcripts": fingerprint(corpus_transcripts(corpus)),
        }
    )


def default_cache_dir(teacher_dir: str | Path, key: str) -> Path:
    """Return ``<teacher_dir>/cache/<key>``, where a cache lives unless told otherwise."""
    return Path(teacher_dir) / CACHE_DIR / key


class TeacherCache:
    """A loaded cache: tensors per unique transcript and the row of every utterance.

    ``lookup(utt_ids)`` returns ``{name: tensor}`` with one row per requested utterance, for the names in
    ``names`` (``logits/<head>``, ``entropy/<head>``, ``confidence/<head>``).
    """

    def __init__(self, path: Path, index: dict[str, Any], tensors: dict[str, Tensor]) -> None:
        self.path = path
        self.index = index
        self.tensors = tensors
        self._rows = dict(zip(index["utt_ids"], index["rows"], strict=True))

    @property
    def key(self) -> str:
        return self.index["key"]

    @property
    def heads(self) -> tuple[str, ...]:
        return tuple(self.index["heads"])

    @property
    def options(self) -> CacheOptions:
        return CacheOptions(**self.index["options"])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.tensors)

    @property
    def utt_ids(self) -> list[str]:
        return list(self.index["utt_ids"])

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, utt_id: object) -> bool:
        return utt_id in self._rows

    @classmethod
    def load(cls, path: str | Path, expected_key: str | None = None) -> TeacherCache:
        """Load the cache folder ``path``; with ``expected_key``, raise unless the cache has that key."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(path)
        index_path = path / INDEX_FILE
        if not index_path.is_file():
            raise FileNotFoundError(f"{index_path} not found: {path} is not a (complete) teacher cache")
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise TeacherCacheError(f"{index_path}: unreadable cache index ({error})") from error
        if index.get("format_version") != CACHE_FORMAT_VERSION:
            raise TeacherCacheError(
                f"{index_path}: cache format {index.get('format_version')!r}, this version reads only "
                f"{CACHE_FORMAT_VERSION}; rebuild it with `crossdistill teacher cache`"
            )
        if expected_key is not None and index["key"] != expected_key:
            raise TeacherCacheError(
                f"teacher cache {path} has key {index['key']}, expected {expected_key}: it was built for another "
                "teacher, options or corpus; rebuild it with `crossdistill teacher cache`"
            )
        try:
            tensors = load_file(str(path / TENSORS_FILE))
        except (OSError, SafetensorError) as error:
            raise TeacherCacheError(f"{path / TENSORS_FILE}: unreadable cache tensors ({error})") from error
        n_rows = len(index["transcripts"])
        bad = [name for name, t in tensors.items() if t.shape[0] != n_rows]
        if bad or set(tensors) != set(index["tensors"]):
            raise TeacherCacheError(f"{path}: tensors do not match the index (corrupt cache); delete and rebuild it")
        return cls(path, index, tensors)

    def rows(self, utt_ids: Sequence[str]) -> Tensor:
        """Return the row of each utterance; raises ``TeacherCacheError`` naming any unknown utterance."""
        missing = [u for u in utt_ids if u not in self._rows]
        if missing:
            raise TeacherCacheError(
                f"{len(missing)} utterance(s) not in teacher cache {self.path}, e.g. {missing[:3]}: the cache "
                "was built for another corpus"
            )
        return torch.tensor([self._rows[u] for u in utt_ids], dtype=torch.long)

    def lookup(self, utt_ids: Sequence[str]) -> dict[str, Tensor]:
        """Return ``{name: tensor}`` with the cached values of ``utt_ids``, in that order."""
        rows = self.rows(utt_ids)
        return {name: t.index_select(0, rows) for name, t in self.tensors.items()}


def build_teacher_cache(
    teacher_dir: str | Path,
    corpus: Corpus,
    options: CacheOptions | None = None,
    out: str | Path | None = None,
    batch_size: int = 64,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Compute and write the cache of ``teacher_dir`` on ``corpus``; return its folder.

    An existing cache with the same key is reused as is. ``out`` (default ``<teacher_dir>/cache/<key>``)
    must not lie inside the corpus; an ``out`` holding a cache with another key is replaced only with
    ``overwrite``, and a folder that is not a teacher cache is never replaced.
    """
    options = options or CacheOptions()
    teacher_dir = Path(teacher_dir).expanduser().absolute()
    key = compute_cache_key(teacher_dir, corpus, options)
    target = default_cache_dir(teacher_dir, key) if out is None else Path(out).expanduser().absolute()
    _check_target(target, corpus, key, overwrite)
    if (target / INDEX_FILE).is_file() and _read_key(target) == key:
        return target

    started = time.perf_counter()
    pairs = corpus_transcripts(corpus)
    texts, rows = unique_texts(text for _, text in pairs)
    teacher = load_teacher(teacher_dir)
    outputs = compute_teacher_outputs(
        teacher, texts, options.n_masks, options.p, options.seed, options.dropout_site, batch_size, progress
    )
    index = {
        "format_version": CACHE_FORMAT_VERSION,
        "key": key,
        "teacher_dir": str(teacher_dir),
        "teacher_weights": fingerprint_file(teacher_dir / WEIGHTS_FILE),
        "corpus_root": str(corpus.root),
        "labels": corpus.labels.fingerprint(),
        "options": asdict(options),
        "heads": list(teacher.config.heads),
        "tensors": sorted(outputs),
        "splits": {split: len(u) for split, u in corpus.splits.items()},
        "build_seconds": round(time.perf_counter() - started, 3),
        "transcripts": texts,
        "utt_ids": [utt_id for utt_id, _ in pairs],
        "rows": rows,
    }
    _write_cache_folder(target, index, outputs)
    return target


def load_teacher_cache(
    teacher_dir: str | Path,
    corpus: Corpus,
    options: CacheOptions | None = None,
    path: str | Path | None = None,
    build: bool = False,
    progress: bool = True,
) -> TeacherCache:
    """Load the cache of (teacher, corpus, options), checking its key; build it first when ``build``.

    ``path`` is an explicit cache folder (as given to ``teacher cache --out``); by default the cache is
    looked up under ``<teacher_dir>/cache/<key>``.
    """
    options = options or CacheOptions()
    key = compute_cache_key(teacher_dir, corpus, options)
    folder = default_cache_dir(teacher_dir, key) if path is None else Path(path)
    if not (folder / INDEX_FILE).is_file():
        if not build:
            raise FileNotFoundError(
                f"no teacher cache at {folder} for these teacher, corpus and options; build it with "
                f"`crossdistill teacher cache --teacher {teacher_dir} --corpus {corpus.root}"
                f"{'' if path is None else f' --out {path}'}`"
            )
        build_teacher_cache(teacher_dir, corpus, options, out=path, progress=progress)
    return TeacherCache.load(folder, expected_key=key)


def _read_key(folder: Path) -> str | None:
    try:
        return json.loads((folder / INDEX_FILE).read_text(encoding="utf-8")).get("key")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None


def _check_target(target: Path, corpus: Corpus, key: str, overwrite: bool) -> None:
    corpus_root = Path(corpus.root).absolute()
    if target == corpus_root or corpus_root in target.parents:
        raise ValueError(f"cache folder {target} lies inside the corpus {corpus_root}: caches never go into a corpus")
    if target.exists() and not target.is_dir():
        raise ValueError(f"cache folder {target} exists and is not a directory")
    if not target.is_dir() or not any(target.iterdir()):
        return
    existing = _read_key(target)
    if existing is None:
        raise ValueError(f"{target} exists and is not a teacher cache; refusing to replace it (choose another --out)")
    if existing != key and not overwrite:
        raise ValueError(
            f"{target} holds a teacher cache with another key ({existing}, wanted {key}); pass --overwrite to "
            "replace it or choose another --out"
        )


def _write_cache_folder(target: Path, index: dict[str, Any], outputs: dict[str, Tensor]) -> None:
    from safetensors.torch import save_file

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        save_file({k: v.contiguous() for k, v in outputs.items()}, str(staging / TENSORS_FILE))
        atomic_write_text(staging / INDEX_FILE, json.dumps(index) + "\n")
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
