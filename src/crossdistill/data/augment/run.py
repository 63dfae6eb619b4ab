"""``augment_corpus``: a finished corpus in, a new corpus in the same layout out, with an augmented training split.

Steps: find the layout and load the corpus with its own reader (everything is checked there), check the options and
the output folder, plan every copy (refusing clashes and too-short copies) -- all before anything is written --,
then build the new corpus in a staging folder beside ``out``:

1. every file that does not change (dev/test audio, transcripts and alignments, the training originals, lexicon,
   LM text, ...) is hard-linked where the file system allows it (no extra space), else copied;
2. the copies are made, in worker processes with ``jobs`` > 1 (a copy depends only on the seed, its factor and its
   utterance id, so the bytes do not depend on ``jobs``);
3. the tables (training CSV or transcripts, alignments), ``augmentation.jsonl`` (one line per copy: factor, SNR,
   noise colour, room) and ``corpus.json`` are written, and the result is read back with the layout's reader;
4. the staging folder is renamed to ``out``.

Resuming: the staging folder ``.<out>.augmenting`` records what it is being built for (options and the source's
identity, fingerprint included). Every file in it is written atomically, so a rerun of the same command after a kill
keeps what is there, makes what is missing, and gives the same bytes as an uninterrupted run; a rerun with other
options or a changed source is refused. A finished ``out`` made by the same command is returned as it is.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import soundfile
from tqdm import tqdm

from crossdistill.common.atomic import atomic_path, atomic_write_text
from crossdistill.common.progress import show_progress
from crossdistill.data.asr.librispeech import KNOWN_SPLITS
from crossdistill.data.audio import SAMPLE_RATE
from crossdistill.data.augment.copies import CopyPlan, make_copy, room_bank
from crossdistill.data.augment.fsc import FscSource
from crossdistill.data.augment.librispeech import LibriSpeechSource
from crossdistill.data.augment.options import AugmentOptions
from crossdistill.data.augment.signal import NOISE_COLOURS, RT60_RANGE_S, Room
from crossdistill.data.corpus import METADATA_FILE, split_csv_path

FORMAT_VERSION = 1
AUGMENTATION_FILE = "augmentation.jsonl"
STATE_FILE = ".augment-identity.json"
STAGING_SUFFIX = ".augmenting"
_VERSIONED = ("crossdistill", "numpy", "scipy", "soxr", "soundfile", "pyroomacoustics")

Source = FscSource | LibriSpeechSource


def open_source(root: Path, progress: bool = True) -> Source:
    """The corpus at ``root`` in whichever layout it is, loaded and checked by that layout's reader."""
    if not root.is_dir():
        raise FileNotFoundError(f"--corpus {root} does not exist or is not a folder")
    if split_csv_path(root, "train").is_file():
        return FscSource(root)
    if any((root / split).is_dir() for split in KNOWN_SPLITS):
        return LibriSpeechSource(root, progress)
    raise ValueError(
        f"--corpus {root} is in no layout we read: neither Fluent Speech Commands ({split_csv_path(root, 'train')} "
        "is missing) nor LibriSpeech (no split folder such as train-clean-100, dev-clean or train)"
    )


def augment_corpus(
    corpus: str | os.PathLike, out: str | os.PathLike, options: AugmentOptions, jobs: int = 1, progress: bool = True
) -> Path:
    """Write the augmented copy of ``corpus`` to ``out`` (see the module docstring) and return ``out``.

    Raises ``ValueError`` or ``FileNotFoundError`` naming the argument or file, before anything is written, for: a
    corpus that is missing, in no known layout or invalid; ``out`` equal to, inside or around ``corpus``; an ``out``
    that holds something else; copies whose ids the corpus already has or that would be too short to read.
    """
    source_root = Path(corpus).expanduser().absolute()
    out = Path(out).expanduser().absolute()
    _check_paths(source_root, out)
    jobs = (os.cpu_count() or 1) if jobs <= 0 else int(jobs)
    source = open_source(source_root, progress)
    identity = {"format_version": FORMAT_VERSION, "options": options.to_dict(), "source": source.identity()}
    if _finished(out, identity):
        return out
    copies = source.plan(options)
    rooms = room_bank(options)
    staging = _open_staging(out, identity)
    _take_over_unchanged(source, staging, progress)
    _make_copies(copies, staging, rooms, jobs, progress)
    samples = {plan.utt_id: soundfile.info(str(staging / plan.target)).frames for plan in copies}
    metadata = source.write_tables(staging, copies, samples)
    atomic_write_text(staging / AUGMENTATION_FILE, "".join(json.dumps(p.record()) + "\n" for p in copies))
    metadata["augmentation"] = {**identity, **_summary(copies, samples, rooms)}
    atomic_write_text(staging / METADATA_FILE, json.dumps(metadata, indent=1) + "\n")
    source.check(staging)
    (staging / STATE_FILE).unlink()
    if out.exists():
        out.rmdir()  # empty (checked before); a rename cannot replace a folder that holds something
    os.replace(staging, out)
    return out


def describe_augmentation(out: str | os.PathLike) -> dict[str, Any]:
    """A short summary of an augmented corpus (what ``crossdistill data augment`` prints), from its ``corpus.json``."""
    recorded = json.loads((Path(out) / METADATA_FILE).read_text(encoding="utf-8"))["augmentation"]
    return {
        "out": str(out),
        "layout": recorded["source"]["layout"],
        "source": recorded["source"]["root"],
        "source_fingerprint": recorded["source"]["fingerprint"],
        "copies": {speed: entry["utterances"] for speed, entry in recorded["copies"].items()},
        "copy_seconds": round(sum(entry["seconds"] for entry in recorded["copies"].values()), 3),
        "reverberated": recorded["reverberated"],
    }


def _check_paths(source: Path, out: Path) -> None:
    source, out = source.resolve(), out.resolve()
    if out == source:
        raise ValueError(f"--out {out} is --corpus itself; the augmented corpus goes to a new folder")
    if source in out.parents:
        raise ValueError(f"--out {out} lies inside --corpus {source}; choose a folder outside it")
    if out in source.parents:
        raise ValueError(f"--corpus {source} lies inside --out {out}; choose another --out")


def _finished(out: Path, identity: dict[str, Any]) -> bool:
    """True when ``out`` holds this very augmentation; raises when it holds anything else."""
    if not out.exists():
        return False
    if not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    metadata = out / METADATA_FILE
    if metadata.is_file():
        try:
            recorded = json.loads(metadata.read_text(encoding="utf-8")).get("augmentation") or {}
        except (OSError, json.JSONDecodeError, AttributeError):
            recorded = {}
        if {key: recorded.get(key) for key in identity} == identity:
            return True
        raise ValueError(
            f"--out {out} already holds a corpus that is not this augmentation of --corpus (other options, another "
            "source, or a source changed since); choose another folder or remove it"
        )
    if any(out.iterdir()):
        raise ValueError(f"--out {out} is not empty; choose another folder or remove it")
    return False


def _open_staging(out: Path, identity: dict[str, Any]) -> Path:
    """The staging folder for ``out``: new, or an interrupted run's for the same identity (its temporaries removed)."""
    staging = out.parent / f".{out.name}{STAGING_SUFFIX}"
    state = staging / STATE_FILE
    if staging.is_dir() and (state.is_file() or any(staging.iterdir())):
        recorded = json.loads(state.read_text(encoding="utf-8")) if state.is_file() else None
        if recorded != identity:
            raise ValueError(
                f"{staging} holds an unfinished augmentation with other options or of another source (or a changed "
                "one); rerun that command to finish it, or remove the folder"
            )
        for folder, _, names in os.walk(staging):
            for name in names:
                if name.startswith(".") and ".tmp" in name:  # atomic_path's temporaries of a killed run
                    os.unlink(os.path.join(folder, name))
        return staging
    staging.mkdir(parents=True, exist_ok=True)
    atomic_write_text(state, json.dumps(identity, sort_keys=True))
    return staging


def _take_over_unchanged(source: Source, staging: Path, progress: bool) -> None:
    """Link (or copy) every file of the source that the augmentation does not rewrite."""
    regenerated = source.regenerated()
    files = []
    for folder, names, filenames in os.walk(source.root, followlinks=True):  # a challenge view links wavs/
        names[:] = sorted(name for name in names if not name.startswith("."))
        for name in sorted(filenames):
            relative = (Path(folder) / name).relative_to(source.root).as_posix()
            if not name.startswith(".") and relative not in regenerated:
                files.append(relative)
    for relative in tqdm(files, unit="file", desc="linking", disable=not show_progress(progress), leave=False):
        _link_or_copy(source.root / relative, staging / relative)


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists():
        return  # from an interrupted run: a link is made whole, a copy is atomic
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)


def _make_copies(copies: list[CopyPlan], staging: Path, rooms: tuple[Room, ...], jobs: int, progress: bool) -> None:
    todo = [plan for plan in copies if not (staging / plan.target).exists()]
    worker = functools.partial(make_copy, root=str(staging), rooms=rooms)
    done, disable = len(copies) - len(todo), not show_progress(progress)
    with tqdm(total=len(copies), initial=done, unit="copy", desc="augmenting", disable=disable) as bar:
        if jobs == 1 or len(todo) < 2:
            for plan in todo:
                worker(plan)
                bar.update()
            return
        # forkserver: workers start from a clean process, not a fork of one that may hold threads (torch, tqdm).
        context = multiprocessing.get_context("forkserver")
        with context.Pool(min(jobs, len(todo))) as pool:
            for _ in pool.imap_unordered(worker, todo, chunksize=4):
                bar.update()


def _summary(copies: list[CopyPlan], samples: dict[str, int], rooms: tuple[Room, ...]) -> dict:
    """What ``corpus.json`` says about the copies beside the identity: counts, speakers, rooms, versions."""
    per_speed: dict[str, dict[str, Any]] = {}
    for plan in copies:
        entry = per_speed.setdefault(repr(plan.speed), {"utterances": 0, "samples": 0, "speakers": {}})
        entry["utterances"] += 1
        entry["samples"] += samples[plan.utt_id]
        entry["speakers"][plan.speaker] = plan.source_speaker
    for entry in per_speed.values():
        entry["seconds"] = round(entry.pop("samples") / SAMPLE_RATE, 3)
    return {
        "copies": per_speed,
        "copies_file": AUGMENTATION_FILE,
        "reverberated": sum(plan.room is not None for plan in copies),
        "noise_colours": list(NOISE_COLOURS),
        "rt60_range_s": list(RT60_RANGE_S),
        "rooms": [room.to_dict() for room in rooms],
        "versions": {name: _version(name) for name in _VERSIONED},
    }


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None
