"""Build a units folder: senone tree, subword model, frame labels of every split, LM text in every unit.

The folder (contract in docs/asr-units.md)::

    units.json  phone.txt  senone.txt  senone_tree.txt  subword.model  subword.txt
    frames/{split}.npz  lm/{unit}.{train,valid,dev}.txt

Every file is written atomically; ``units.json`` comes last and marks the folder complete. Until then
``.build.json`` holds the key, so a killed build resumes with the same inputs and options: finished steps are
kept (the tree and the subword model are always read back from their files, in a fresh and a resumed run
alike, so both give the same bytes) and a folder of other inputs or options is refused.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from crossdistill.common import atomic_write_text, fingerprint
from crossdistill.data.alignments import Segment
from crossdistill.data.asr.frames import frame_segment_indices
from crossdistill.data.asr.phones import PHONES, SILENCE
from crossdistill.data.asr.units.contexts import SILENCE_ID, frame_contexts
from crossdistill.data.asr.units.labels import UNITS, read_frame_labels, subword_frames, write_frame_labels
from crossdistill.data.asr.units.lm_text import (
    TextConverter,
    collapse,
    convert_text,
    inner_silence_runs,
    read_sentences,
)
from crossdistill.data.asr.units.options import UnitsOptions
from crossdistill.data.asr.units.questions import default_questions
from crossdistill.data.asr.units.subwords import SubwordModel, train_subword_model
from crossdistill.data.asr.units.tree import accumulate_stats, build_senone_tree, read_tree, write_tree

FORMAT_VERSION = 1  # bump when the folder's content changes meaning: old folders then fail their key check
FEATURE_DIM = 80
UNITS_FILE = "units.json"
PROGRESS_FILE = ".build.json"


@dataclass(frozen=True)
class Utterance:
    """One AM utterance as units need it: id, frame count and transcript words."""

    utt_id: str
    n_frames: int
    words: tuple[str, ...]


@dataclass(frozen=True)
class UnitsInputs:
    """Everything a units folder is built from (``corpus.py`` makes one from a corpus folder).

    splits: split -> utterances in a fixed order. phones, words: split -> utt_id -> phone (tiling the audio)
    and word segments. lexicon: word -> phones. lm_train, lm_valid: LM text files (one normalized sentence per
    line). features: ``(split, utt_ids) -> iterable of (T, 80) fbank frames``, in that order. identity: what
    identifies these inputs (hashes of alignments, lexicon, LM text, audio and feature settings) for the key.
    """

    splits: dict[str, list[Utterance]]
    phones: dict[str, dict[str, list[Segment]]]
    words: dict[str, dict[str, list[Segment]]]
    lexicon: dict[str, tuple[str, ...]]
    lm_train: Path
    lm_valid: Path
    features: Callable[[str, list[str]], Iterable[np.ndarray]]
    identity: dict = field(default_factory=dict)

    def check(self, options: UnitsOptions) -> None:
        """Clear errors before anything is written: splits present, every utterance aligned, texts present."""
        for split in (options.train_split, options.dev_split):
            if split not in self.splits:
                raise ValueError(f"split {split!r} is not in the corpus (it has {', '.join(sorted(self.splits))})")
        for split, utterances in self.splits.items():
            if not utterances:
                raise ValueError(f"split {split!r} has no utterances")
            for kind, alignments in (("phone", self.phones), ("word", self.words)):
                missing = [u.utt_id for u in utterances if u.utt_id not in alignments.get(split, {})]
                if missing:
                    raise ValueError(f"{split}: {len(missing)} utterances have no {kind} alignment, e.g. {missing[0]}")
        for path in (self.lm_train, self.lm_valid):
            if not Path(path).is_file():
                raise FileNotFoundError(f"{path}: LM text not found")


def units_key(inputs: UnitsInputs, options: UnitsOptions) -> str:
    """The folder's key: the inputs' identity, the options and the format version."""
    return fingerprint({"inputs": inputs.identity, "options": asdict(options), "format": FORMAT_VERSION})


def build_units(inputs: UnitsInputs, out: str | Path, options: UnitsOptions, progress: bool = True) -> dict:
    """Build (or finish, or confirm) the units folder ``out``; returns the summary stored in units.json."""
    options.check()
    inputs.check(options)
    out = Path(out)
    key = units_key(inputs, options)
    done = out / UNITS_FILE
    if done.is_file():
        summary = json.loads(done.read_text(encoding="utf-8"))
        _check_key(summary, key, f"{out} holds units")
        return summary
    state = _start_or_resume(out, key, options)
    run = _Build(inputs, out, options, state, progress)
    run.senones()
    run.subwords()
    atomic_write_text(out / "phone.txt", "".join(f"{p}\n" for p in PHONES))
    for split in sorted(inputs.splits, key=lambda s: s != options.train_split):  # training frames first:
        run.frame_labels(split)  # they decide the LM text's silences, which dev's measurements use
    run.lm_text()
    summary = run.summary()
    atomic_write_text(done, json.dumps(summary, indent=2) + "\n")
    (out / PROGRESS_FILE).unlink()
    return summary


def _check_key(found: dict, key: str, what: str) -> None:
    if found.get("key") != key:
        raise ValueError(
            f"{what} of other inputs or options (key {found.get('key')}, these give {key}); "
            "choose another --out or remove it"
        )


def _start_or_resume(out: Path, key: str, options: UnitsOptions) -> dict:
    marker = out / PROGRESS_FILE
    if marker.is_file():
        state = json.loads(marker.read_text(encoding="utf-8"))
        _check_key(state, key, f"{out} holds an unfinished build")
        return state
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"--out {out} exists and is not an empty folder or a units folder")
    state = {"key": key, "options": asdict(options), "steps": {}}
    atomic_write_text(marker, json.dumps(state, indent=2) + "\n")
    return state


class _Build:
    """The steps of one build; each records what it measured in ``.build.json`` when it finishes."""

    def __init__(self, inputs: UnitsInputs, out: Path, options: UnitsOptions, state: dict, progress: bool):
        self.inputs, self.out, self.options, self.state, self.progress = inputs, out, options, state, progress

    def _record(self, step: str, measured: dict) -> None:
        self.state["steps"][step] = measured
        atomic_write_text(self.out / PROGRESS_FILE, json.dumps(self.state, indent=2) + "\n")

    def senones(self) -> None:
        if not (self.out / "senone.txt").is_file():
            self._grow_tree()
        self.tree = read_tree(self.out / "senone_tree.txt", PHONES)
        self.senone_names = self.tree.names()
        if (self.out / "senone.txt").read_text(encoding="utf-8").split() != self.senone_names:
            raise ValueError(f"{self.out / 'senone.txt'} does not list the leaves of senone_tree.txt")
        self.table = self.tree.table()

    def _grow_tree(self) -> None:
        split = self.options.train_split
        utterances = self.inputs.splits[split]
        start = time.perf_counter()
        contexts = [
            frame_contexts(self.inputs.phones[split][u.utt_id], u.n_frames, f"{split} {u.utt_id}") for u in utterances
        ]
        features = self.inputs.features(split, [u.utt_id for u in utterances])
        features = tqdm(features, total=len(utterances), desc="tree stats", unit="utt", disable=self._quiet())
        stats = accumulate_stats(contexts, features, len(PHONES), FEATURE_DIM)
        stats_seconds = time.perf_counter() - start
        start = time.perf_counter()
        tree = build_senone_tree(stats, PHONES, default_questions(), self.options.senones, self.options.min_leaf_frames)
        leaves = tree.leaves()
        measured = {
            "stats_seconds": round(stats_seconds, 3),
            "tree_seconds": round(time.perf_counter() - start, 3),
            "frames": stats.frames,
            "contexts_seen": len(stats.keys),
            "senones": len(leaves),
            "senones_without_frames": sum(1 for leaf in leaves if leaf.frames == 0),
        }
        description = (
            f"tied by likelihood gain on {stats.frames} frames of split {split!r} ({len(stats.keys)} contexts seen); "
            f"{len(leaves)} leaves (asked for {self.options.senones}), min {self.options.min_leaf_frames} frames "
            "per leaf; questions: hand-written ARPAbet classes and single phones"
        )
        write_tree(self.out / "senone_tree.txt", tree, description)
        atomic_write_text(self.out / "senone.txt", "".join(f"{leaf.name}\n" for leaf in leaves))
        self._record("senones", measured)

    def subwords(self) -> None:
        if not (self.out / "subword.txt").is_file():
            start = time.perf_counter()
            sentences = train_subword_model(
                self.inputs.lm_train,
                self.out / "subword.model",
                self.options.subwords,
                self.options.seed,
                self.options.subword_max_sentences,
            )
            pieces = SubwordModel(self.out / "subword.model").pieces
            atomic_write_text(self.out / "subword.txt", "".join(f"{piece}\n" for piece in pieces))
            self._record("subwords", {"seconds": round(time.perf_counter() - start, 3), "sentences": sentences})
        self.subword_model = SubwordModel(self.out / "subword.model")

    def frame_labels(self, split: str) -> None:
        path = self.out / "frames" / f"{split}.npz"
        if path.is_file():
            return
        start = time.perf_counter()
        utterances = self.inputs.splits[split]
        phones, words = self.inputs.phones[split], self.inputs.words[split]
        model = self.subword_model
        labels = []
        short = {"phone_segments": 0, "under_3_frames": 0, "no_frame": 0, "pause_frames_in_subwords": 0}
        for u in tqdm(utterances, desc=f"frames {split}", unit="utt", disable=self._quiet()):
            contexts = frame_contexts(phones[u.utt_id], u.n_frames, f"{split} {u.utt_id}")
            word_segments = words[u.utt_id]
            pieces = model.encode_words([w.label for w in word_segments])
            subword = subword_frames(
                word_segments, phones[u.utt_id], pieces, model.pieces, u.n_frames, model.silence_id
            )
            senone = self.table[contexts[:, 0], contexts[:, 1], contexts[:, 2], contexts[:, 3]]
            short["pause_frames_in_subwords"] += int(
                np.count_nonzero((contexts[:, 0] == SILENCE_ID) & (subword != model.silence_id))
            )
            labels.append({"senone": senone, "phone": contexts[:, 0], "subword": subword})
            _count_short_segments(phones[u.utt_id], u.n_frames, short)
        write_frame_labels(path, [u.utt_id for u in utterances], labels)
        frames = int(sum(len(x["phone"]) for x in labels))
        measured = {"utterances": len(utterances), "frames": frames, "seconds": round(time.perf_counter() - start, 3)}
        measured |= short
        if split == self.options.dev_split:
            measured["matches_text"] = self._agreement(utterances, labels)
        self._record(f"frames_{split}", measured)

    def _agreement(self, utterances: list[Utterance], labels: list[dict[str, np.ndarray]]) -> dict:
        """How far deduplicated frame labels are from the LM-text form of the transcript, per unit: the share of
        utterances where they are equal and the token error rate (edits / LM-text tokens, jiwer)."""
        import jiwer

        texts = self._converter().convert([" ".join(u.words) for u in utterances])
        names = {"senone": self.senone_names, "phone": PHONES, "subword": self.subword_model.pieces}
        result = {}
        for unit in UNITS:
            frames = [" ".join(names[unit][i] for i in collapse(x[unit].tolist())) for x in labels]
            equal = np.mean([a == b for a, b in zip(frames, texts[unit], strict=True)])
            result[unit] = {
                "utterances_equal": round(float(equal), 4),
                "token_error_rate": round(float(jiwer.wer(texts[unit], frames)), 4),
            }
        return result

    @functools.cached_property
    def word_silence(self) -> dict:
        """How many word boundaries of the training split the deduplicated phone frames fill with silence (inner
        silence runs / boundaries), and the LM-text rule that follows: SIL between words if most do."""
        split = self.options.train_split
        frames = read_frame_labels(self.out / "frames" / f"{split}.npz")
        boundaries = sum(max(len(u.words) - 1, 0) for u in self.inputs.splits[split])
        runs = sum(inner_silence_runs(frames.utterance(i)["phone"], SILENCE_ID) for i in range(len(frames.utt_ids)))
        share = runs / boundaries if boundaries else 0.0
        return {"boundaries": boundaries, "silences": runs, "share": round(share, 4), "between_words": share > 0.5}

    def _converter(self) -> TextConverter:
        return TextConverter(
            self.inputs.lexicon,
            self.table,
            self.senone_names,
            self.subword_model,
            silence_between_words=self.word_silence["between_words"],
        )

    def lm_text(self) -> None:
        dev = self.inputs.splits[self.options.dev_split]
        sources = {
            "train": (read_sentences(Path(self.inputs.lm_train)), None),
            "valid": (read_sentences(Path(self.inputs.lm_valid)), None),
            "dev": ((" ".join(u.words) for u in dev), len(dev)),
        }
        for name, (sentences, total) in sources.items():
            outputs = {unit: self.out / "lm" / f"{unit}.{name}.txt" for unit in UNITS}
            if all(path.is_file() for path in outputs.values()):
                continue
            measured = convert_text(
                sentences, self._converter(), outputs, total, progress=not self._quiet(), desc=f"lm {name}"
            )
            self._record(f"lm_{name}", measured)

    def _quiet(self) -> bool | None:
        return None if self.progress else True  # None: tqdm shows a bar only on a terminal

    def summary(self) -> dict:
        return {
            "key": self.state["key"],
            "format": FORMAT_VERSION,
            "options": self.state["options"],
            "identity": self.inputs.identity,
            "phones": len(PHONES),
            "senones": len(self.senone_names),
            "subwords": len(self.subword_model.pieces),
            "splits": {split: len(utts) for split, utts in self.inputs.splits.items()},
            "word_silence": self.word_silence,
            "measured": self.state["steps"],
        }


def _count_short_segments(segments: list[Segment], n_frames: int, counts: dict) -> None:
    """Count phone segments (silence excluded) shorter than 3 frames and those that label no frame."""
    indices = frame_segment_indices(segments, n_frames)
    frames = np.bincount(indices[indices >= 0], minlength=len(segments))
    spoken = np.array([s.label != SILENCE for s in segments], dtype=bool)
    counts["phone_segments"] += int(spoken.sum())
    counts["under_3_frames"] += int((spoken & (frames < 3)).sum())
    counts["no_frame"] += int((spoken & (frames == 0)).sum())
