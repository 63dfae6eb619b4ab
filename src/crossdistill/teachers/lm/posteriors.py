"""Frame-wise LM posteriors of every AM utterance (paper 001, Section 3.2 and Fig. 2), cached per segment.

For each utterance of each split of a units folder:

1. ``deduplicate`` its frame labels in the LM's unit into a unit sequence u_1 .. u_S and segment lengths;
2. run the LM teacher-forced over ``<s> u_1 .. u_S``; **position k's distribution is p(u_k | u_<k)**, the LM's
   prediction of the unit being spoken given the units before it (the shift shown in the paper's figure: the
   target for segment k is computed without looking at u_k). The ``</s>`` output is dropped and the rest
   renormalized over the V units of the inventory (an utterance's frames never end a sentence mid-way);
3. store one row per segment (``rearrange`` expands a row onto the frames of its segment when a batch is built).

Cache folder (``cache.json`` + one ``{split}.npz`` per split)::

    cache.json   key, unit, vocab (V), top_k (0 = full rows), the LM and units keys, counts per split, bytes (of
                 the .npz files)
    {split}.npz  key (0-d), utt_ids (N,), utt_offsets int64 (N + 1,) into the segments, units int32 (S,) the
                 deduplicated unit ids, segment_lengths int32 (S,) frames per segment, and either
                 probs float32 (S, V) (top_k = 0) or top_ids int16/int32 (S, K) + top_probs float32 (S, K),
                 each row's K most probable units renormalized to sum to 1

The key is a fingerprint of the LM (weights and config), the units folder's key (which covers the corpus
alignments), the frame-label files themselves, the unit, top-k and this format's version. The folder is built
beside its destination and moved into place whole, so a killed build leaves nothing a reader would trust, and
``load_posteriors`` refuses a cache whose key is not the one expected: a stale cache is never read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from crossdistill.common import atomic_path, fingerprint, fingerprint_file
from crossdistill.kd.framewise import deduplicate, densify_top_k, keep_top_k, rearrange
from crossdistill.teachers.lm.cache_files import CACHE_FILE as CACHE_FILE  # re-exported: readers glob for it
from crossdistill.teachers.lm.cache_files import build_cache_folder, check_cache_meta, read_cache_meta, write_cache_meta
from crossdistill.teachers.lm.inference import iterate_log_probs
from crossdistill.teachers.lm.model import LSTMLanguageModel, lm_fingerprint
from crossdistill.teachers.lm.text import UnitSentences
from crossdistill.teachers.lm.units_folder import FrameLabels, UnitsFolder, open_units_folder

FORMAT_VERSION = 1
KIND = "framewise_lm_posteriors"
DEFAULT_TOP_K = 32
PROB_DTYPE = np.dtype(np.float32)
FRAME_SHIFT_S = 0.01  # the paper-001 frame grid (crossdistill.data.asr.frames)
READING = "row k of an utterance = p(u_k | u_<k) over the V units (</s> dropped, renormalized)"


@dataclass
class CacheOptions:
    """Options of ``crossdistill asr lm posteriors`` and ``transcripts``.

    lm: trained LM folder. corpus: the corpus folder the units were made from, checked against the units' key
    (anything ``load_units`` accepts as its corpus; None: not checked). units: units folder (None: the one the LM
    was trained on). top_k: rows keep the K most probable units renormalized (None: DEFAULT_TOP_K; 0 or K >= V:
    full rows). out: cache folder (None: a folder named by the key under the LM folder). batch_size: sentences
    per LM batch. threads: torch CPU threads. progress: progress bar (on a terminal only).
    """

    lm: Path
    corpus: Any = None
    units: Path | None = None
    top_k: int | None = None
    out: Path | None = None
    batch_size: int = 64
    threads: int | None = None
    progress: bool = True


@dataclass(frozen=True)
class TeacherInputs:
    """A loaded LM and the units folder it is applied to, checked to share the unit inventory."""

    lm: LSTMLanguageModel
    lm_dir: Path
    units: UnitsFolder
    top_k: int  # 0 = full rows (see effective_top_k)

    @property
    def unit(self) -> str:
        return self.lm.config.unit


def check_options(options: CacheOptions) -> None:
    """Argument errors, before anything is loaded."""
    if options.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {options.batch_size}")
    if options.top_k is not None and options.top_k < 0:
        raise ValueError(f"--top-k must be >= 0, got {options.top_k}")
    if options.threads is not None and options.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {options.threads}")
    if isinstance(options.corpus, str | os.PathLike) and not Path(options.corpus).is_dir():
        raise FileNotFoundError(f"--corpus {options.corpus} is not a folder")


def open_teacher_inputs(
    lm_dir: str | Path, units_dir: str | Path | None, top_k: int | None, corpus: Any = None
) -> TeacherInputs:
    """Load the LM and the units folder (None: the LM's own) and check that they share the unit inventory; with
    ``corpus``, also check that the units folder was built from that corpus (its key)."""
    lm = LSTMLanguageModel.from_pretrained(lm_dir)
    units_dir = units_dir if units_dir is not None else lm.config.units_dir
    if not units_dir:
        raise ValueError(f"{lm_dir} does not record its units folder: pass --units")
    units = open_units_folder(units_dir, corpus)
    inventory_file = units.root / f"{lm.config.unit}.txt"
    lm.vocabulary.check_matches(units.vocabulary(lm.config.unit).symbols, str(inventory_file))
    top_k = DEFAULT_TOP_K if top_k is None else top_k
    if top_k < 0:
        raise ValueError(f"top-k must be >= 0, got {top_k}")
    return TeacherInputs(lm, Path(lm_dir), units, effective_top_k(top_k, lm.vocabulary.size))


def effective_top_k(top_k: int, vocab: int) -> int:
    """``top_k``, or 0 (full rows) when k ids and probabilities would take at least as many bytes as V probabilities
    (e.g. the 41 phones: a top-32 row is larger than a full one)."""
    top_k_bytes = top_k * (PROB_DTYPE.itemsize + id_dtype(vocab).itemsize)
    return 0 if top_k == 0 or top_k_bytes >= vocab * PROB_DTYPE.itemsize else top_k


def posterior_cache_key(inputs: TeacherInputs, splits: list[str]) -> str:
    """The key of the frame-wise cache of ``inputs`` over ``splits`` (see the module docstring)."""
    frames = {split: fingerprint_file(inputs.units.frames_file(split)) for split in splits}
    return fingerprint(
        {
            "kind": KIND,
            "format": FORMAT_VERSION,
            "lm": lm_fingerprint(inputs.lm_dir),
            "units": inputs.units.key,
            "frames": frames,
            "unit": inputs.unit,
            "top_k": inputs.top_k,
        }
    )


def expected_posterior_key(lm: str | Path, units: str | Path, top_k: int | None = None) -> str:
    """The key a cache built from LM folder ``lm`` and units folder ``units`` must carry (for readers)."""
    inputs = open_teacher_inputs(lm, units, top_k)
    return posterior_cache_key(inputs, inputs.units.splits())


def build_posterior_cache(options: CacheOptions) -> dict[str, Any]:
    """Build (or find) the frame-wise posterior cache; returns the summary line the command prints."""
    started = time.perf_counter()
    check_options(options)
    inputs = open_teacher_inputs(options.lm, options.units, options.top_k, options.corpus)
    splits = inputs.units.splits()
    frames = {split: inputs.units.frame_labels(split, inputs.unit) for split in splits}  # ids checked on reading
    key = posterior_cache_key(inputs, splits)
    out = Path(options.out) if options.out is not None else inputs.lm_dir / "posteriors" / key
    existing = read_cache_meta(out)
    if existing is not None and existing.get("key") == key:
        return _summary_line(out, existing, reused=True, seconds=time.perf_counter() - started)

    if options.threads is not None:
        torch.set_num_threads(options.threads)
    with build_cache_folder(out) as tmp:
        per_split = {}
        for split, labels in frames.items():
            arrays = segment_posteriors(inputs.lm, labels, inputs.top_k, options.batch_size, options.progress)
            with atomic_path(tmp / f"{split}.npz") as path:
                np.savez(path, key=np.array(key), **arrays)
            per_split[split] = {
                "utterances": len(labels),
                "segments": len(arrays["units"]),
                "frames": int(arrays["segment_lengths"].sum()),
            }
        corpus = str(Path(options.corpus).absolute()) if isinstance(options.corpus, str | os.PathLike) else None
        meta = teacher_meta(inputs, key, KIND, FORMAT_VERSION) | {
            "corpus": corpus,
            "reading": READING,
            "splits": per_split,
            "build_seconds": round(time.perf_counter() - started, 3),
        }
        meta = write_cache_meta(tmp, meta)
    return _summary_line(out, meta, reused=False, seconds=time.perf_counter() - started)


def teacher_meta(inputs: TeacherInputs, key: str, kind: str, format_version: int) -> dict[str, Any]:
    """What every teacher cache's ``cache.json`` says about itself and the LM and units folder it came from."""
    return {
        "key": key,
        "format": format_version,
        "kind": kind,
        "unit": inputs.unit,
        "vocab": inputs.lm.vocabulary.size,
        "top_k": inputs.top_k,
        "lm": {"dir": str(inputs.lm_dir.absolute()), "fingerprint": lm_fingerprint(inputs.lm_dir)},
        "units": {"dir": str(inputs.units.root.absolute()), "key": inputs.units.key},
    }


def segment_posteriors(
    lm: LSTMLanguageModel, frames: FrameLabels, top_k: int, batch_size: int = 64, progress: bool = False
) -> dict[str, np.ndarray]:
    """The per-segment rows of one split: deduplicate every utterance, run the LM, keep p(u_k | u_<k).

    Returns the arrays of a ``{split}.npz`` file (without its key).
    """
    sequences, lengths = [], []
    for i in range(len(frames)):
        units, segment_lengths = deduplicate(torch.from_numpy(frames.utterance(i)))
        sequences.append(units.numpy().astype(np.int32))
        lengths.append(segment_lengths.numpy().astype(np.int32))
    counts = np.array([len(s) for s in sequences], dtype=np.int64)
    utt_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    sentences = UnitSentences(
        np.concatenate(sequences) if sequences else np.zeros(0, np.int32), utt_offsets, frames.source
    )
    vocab = lm.vocabulary.size
    width = top_k or vocab
    rows = np.zeros((int(utt_offsets[-1]), width), dtype=PROB_DTYPE)
    ids = np.zeros((int(utt_offsets[-1]), width), dtype=id_dtype(vocab)) if top_k else None
    bar = tqdm(total=len(sentences), desc=f"{lm.config.unit} posteriors {frames.split}", unit="utt",
               disable=None if progress else True, leave=False)  # fmt: skip
    for i, log_probs in iterate_log_probs(lm, sentences, batch_size):
        start, end = utt_offsets[i], utt_offsets[i + 1]
        # Row k - 1 follows <s> u_1 .. u_{k-1}: p(u_k | u_<k). The last row (p(</s> | u)) and column are dropped.
        probs = torch.softmax(log_probs[: end - start, :vocab].double(), dim=-1)
        if top_k:
            top_ids, top_probs = keep_top_k(probs, top_k)
            ids[start:end] = top_ids.numpy()
            rows[start:end] = top_probs.numpy()
        else:
            rows[start:end] = probs.numpy()
        bar.update(1)
    bar.close()
    arrays = {
        "utt_ids": np.array(frames.utt_ids, dtype=str),
        "utt_offsets": utt_offsets,
        "units": sentences.ids,
        "segment_lengths": np.concatenate(lengths) if lengths else np.zeros(0, np.int32),
    }
    if top_k:
        arrays |= {"top_ids": ids, "top_probs": rows}
    else:
        arrays["probs"] = rows
    return arrays


def id_dtype(vocab: int) -> np.dtype:
    """The integer type of top-k ids: int16 up to 32,768 units."""
    return np.dtype(np.int16) if vocab <= np.iinfo(np.int16).max + 1 else np.dtype(np.int32)


@dataclass(frozen=True)
class SegmentPosteriors:
    """One utterance's cached rows: units (S,), segment_lengths (S,), probs (S, V or K), top_ids (S, K) or None."""

    units: Tensor
    segment_lengths: Tensor
    probs: Tensor
    top_ids: Tensor | None
    vocab: int

    def dense(self) -> Tensor:
        """Per-segment rows over the full vocabulary (S, V)."""
        return self.probs if self.top_ids is None else densify_top_k(self.top_ids, self.probs, self.vocab)

    def frames(self) -> Tensor:
        """The frame-wise posteriors (T, V): every frame of segment k gets row k."""
        return rearrange(self.dense(), self.segment_lengths)


class SplitPosteriors:
    """The cached rows of one split, read whole into memory; utterances by position or id."""

    def __init__(self, path: Path, key: str, vocab: int) -> None:
        with np.load(path, allow_pickle=False) as data:
            if "key" not in data.files or str(data["key"]) != key:
                raise ValueError(f"{path} does not carry the cache key {key}: the cache folder is inconsistent")
            self.utt_ids = tuple(str(u) for u in data["utt_ids"])
            self.utt_offsets = data["utt_offsets"]
            self.units = torch.from_numpy(data["units"].astype(np.int64))
            self.segment_lengths = torch.from_numpy(data["segment_lengths"].astype(np.int64))
            top = "top_ids" in data.files
            self.probs = torch.from_numpy(data["top_probs"] if top else data["probs"])
            self.top_ids = torch.from_numpy(data["top_ids"].astype(np.int64)) if top else None
        self.vocab = vocab
        self.index = {utt: i for i, utt in enumerate(self.utt_ids)}

    def __len__(self) -> int:
        return len(self.utt_ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.utt_ids)

    def utterance(self, utt: int | str) -> SegmentPosteriors:
        i = self.index[utt] if isinstance(utt, str) else int(utt)
        start, end = int(self.utt_offsets[i]), int(self.utt_offsets[i + 1])
        return SegmentPosteriors(
            units=self.units[start:end],
            segment_lengths=self.segment_lengths[start:end],
            probs=self.probs[start:end],
            top_ids=None if self.top_ids is None else self.top_ids[start:end],
            vocab=self.vocab,
        )

    def num_frames(self, utt: int | str) -> int:
        return int(self.utterance(utt).segment_lengths.sum())


class PosteriorCache:
    """A checked frame-wise posterior cache: ``meta`` (cache.json) and the splits, read when first asked for."""

    def __init__(self, root: Path, meta: dict[str, Any]) -> None:
        self.root, self.meta = root, meta
        self._splits: dict[str, SplitPosteriors] = {}

    @property
    def key(self) -> str:
        return self.meta["key"]

    @property
    def unit(self) -> str:
        return self.meta["unit"]

    @property
    def vocab(self) -> int:
        return int(self.meta["vocab"])

    @property
    def splits(self) -> list[str]:
        return sorted(self.meta["splits"])

    def split(self, name: str) -> SplitPosteriors:
        if name not in self.meta["splits"]:
            raise KeyError(f"the posterior cache {self.root} has no split {name!r} (it has {self.splits})")
        if name not in self._splits:
            self._splits[name] = SplitPosteriors(self.root / f"{name}.npz", self.key, self.vocab)
        return self._splits[name]


def load_posteriors(cache: str | Path, expected_key: str) -> PosteriorCache:
    """Open a frame-wise posterior cache, refusing one whose key is not ``expected_key`` (a stale cache).

    ``expected_key`` comes from ``expected_posterior_key(lm, units, top_k)`` for the LM and units a run uses.
    """
    root = Path(cache)
    return PosteriorCache(root, check_cache_meta(root, KIND, expected_key, "crossdistill asr lm posteriors"))


def _summary_line(out: Path, meta: dict[str, Any], reused: bool, seconds: float) -> dict[str, Any]:
    splits = meta["splits"].values()
    frames = sum(s["frames"] for s in splits)
    return {
        "cache": str(out),
        "key": meta["key"],
        "unit": meta["unit"],
        "vocab": meta["vocab"],
        "top_k": meta["top_k"],
        "utterances": sum(s["utterances"] for s in splits),
        "segments": sum(s["segments"] for s in splits),
        "frames": frames,
        "hours": round(frames * FRAME_SHIFT_S / 3600, 4),
        "bytes": meta["bytes"],
        "bytes_per_frame": round(meta["bytes"] / max(frames, 1), 2),
        "reused": reused,
        "seconds": round(seconds, 3),
    }
