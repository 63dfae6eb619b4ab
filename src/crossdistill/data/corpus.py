"""Reader for corpora in the Fluent Speech Commands (FSC) layout: the real FSC and our synthetic one.

Layout (paths relative to the dataset root)::

    data/train_data.csv, data/valid_data.csv, data/test_data.csv
        columns: an unnamed index, path, speakerId, transcription, action, object, location
    data/test_unseen_engine_data.csv          (optional: a second test set, the synthetic corpus's
                                               ``--split unseen-engine``; read as the split ``test_unseen_engine``)
    wavs/speakers/<speakerId>/<name>.wav      (16 kHz mono; other formats are converted on read)
    data/<split>_alignments.jsonl             (optional: word/phoneme alignments, synthetic corpus only)
    corpus.json                               (optional: metadata written by the synthesizer, incl. labels)

Label vocabularies come from the training split. Their order is *sorted* (slot values alphabetically,
intents as sorted (action, object, location) tuples), so the same training split always gives the same
ids. The synthesizer stores the label set in ``corpus.json``; for a real FSC copy it is computed on read.
Nothing under the root is ever written by the reader.
"""

from __future__ import annotations

import csv
import functools
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import soundfile

from crossdistill.common import fingerprint as fingerprint_obj
from crossdistill.data.audio import conversion_note, note_conversion

SPLITS = ("train", "valid", "test")
UNSEEN_ENGINE_TEST = "test_unseen_engine"  # speakers of a synthesis engine that train, valid and test never use
EXTRA_TEST_SPLITS = (UNSEEN_ENGINE_TEST,)  # read when their CSV exists; scored like test, never trained on
REQUIRED_COLUMNS = ("path", "speakerId", "transcription", "action", "object", "location")
METADATA_FILE = "corpus.json"


class CorpusError(ValueError):
    """A corpus that cannot be used as it is; the message names the file and, where it applies, the row."""


def split_csv_path(root: str | os.PathLike, split: str) -> Path:
    """Return the CSV path of ``split`` under a corpus root."""
    return Path(root) / "data" / f"{split}_data.csv"


def alignment_path(root: str | os.PathLike, split: str) -> Path:
    """Return the alignment sidecar path of ``split`` (beside the CSVs)."""
    return Path(root) / "data" / f"{split}_alignments.jsonl"


def utterance_id(path: str) -> str:
    """The ``utt_id`` of a CSV ``path``: POSIX separators, normalized (``a/./b`` is ``a/b``), no extension."""
    return str(PurePosixPath(os.path.normpath(str(PurePosixPath(path.replace("\\", "/"))))).with_suffix(""))


@dataclass(frozen=True)
class Utterance:
    """One row of an FSC-style CSV.

    Fields:
      utt_id: the CSV ``path`` without its extension, e.g. ``wavs/speakers/<speakerId>/<name>``; unique.
      audio_path: absolute path of the audio file.
      speaker_id: the ``speakerId`` column.
      transcription: what was said, as written in the CSV.
      action, object, location: the three slot values (``none`` is an ordinary value).
    """

    utt_id: str
    audio_path: Path
    speaker_id: str
    transcription: str
    action: str
    object: str
    location: str

    @property
    def intent(self) -> tuple[str, str, str]:
        """The intent: the (action, object, location) triple."""
        return (self.action, self.object, self.location)


@dataclass(frozen=True)
class LabelSet:
    """Slot vocabularies and intent inventory, built from the training split in sorted order."""

    actions: tuple[str, ...]
    objects: tuple[str, ...]
    locations: tuple[str, ...]
    intents: tuple[tuple[str, str, str], ...]

    SLOTS: ClassVar[tuple[str, str, str]] = ("action", "object", "location")

    @classmethod
    def from_utterances(cls, utterances: list[Utterance]) -> LabelSet:
        """Build the label set of ``utterances`` (normally the training split), sorted for stability."""
        return cls(
            actions=tuple(sorted({u.action for u in utterances})),
            objects=tuple(sorted({u.object for u in utterances})),
            locations=tuple(sorted({u.location for u in utterances})),
            intents=tuple(sorted({u.intent for u in utterances})),
        )

    def slot_values(self, slot: str) -> tuple[str, ...]:
        """Return the values of ``slot`` (one of ``SLOTS``) in id order."""
        if slot not in self.SLOTS:
            raise ValueError(f"unknown slot {slot!r}; expected one of {self.SLOTS}")
        return {"action": self.actions, "object": self.objects, "location": self.locations}[slot]

    @functools.cached_property
    def _intent_ids(self) -> dict[tuple[str, str, str], int]:
        return {intent: i for i, intent in enumerate(self.intents)}

    @functools.cached_property
    def _slot_ids(self) -> tuple[dict[str, int], ...]:
        return tuple({v: i for i, v in enumerate(self.slot_values(s))} for s in self.SLOTS)

    def encode_intent(self, utt: Utterance) -> int:
        """Return the intent id of ``utt``; raises ``CorpusError`` for an intent the training split lacks."""
        try:
            return self._intent_ids[tuple(utt.intent)]
        except KeyError:
            raise CorpusError(f"intent {utt.intent} of {utt.utt_id!r} is not in the label set") from None

    def encode_slots(self, utt: Utterance) -> tuple[int, int, int]:
        """Return the (action, object, location) ids of ``utt``."""
        ids = []
        for slot, table in zip(self.SLOTS, self._slot_ids, strict=True):
            value = getattr(utt, slot)
            if value not in table:
                raise CorpusError(f"{slot} {value!r} of {utt.utt_id!r} is not in the label set")
            ids.append(table[value])
        return (ids[0], ids[1], ids[2])

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "actions": list(self.actions),
            "objects": list(self.objects),
            "locations": list(self.locations),
            "intents": [list(i) for i in self.intents],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabelSet:
        """Inverse of ``to_dict``."""
        return cls(
            actions=tuple(d["actions"]),
            objects=tuple(d["objects"]),
            locations=tuple(d["locations"]),
            intents=tuple((a, o, loc) for a, o, loc in d["intents"]),
        )

    def fingerprint(self) -> str:
        """Hex digest of the vocabularies and their order."""
        return fingerprint_obj(self.to_dict())


@dataclass
class Corpus:
    """A validated corpus: its root, the three splits (and any ``EXTRA_TEST_SPLITS`` it has) and the label set.

    ``metadata`` holds ``corpus.json`` when the corpus has one (the synthesizer writes it), else ``{}``.
    ``audio_formats`` counts the audio files per (sample rate, channels), read from their headers when the corpus
    was loaded with ``check_audio`` (else ``{}``).
    """

    root: Path
    splits: dict[str, list[Utterance]]
    labels: LabelSet
    metadata: dict[str, Any] = field(default_factory=dict)
    audio_formats: dict[tuple[int, int], int] = field(default_factory=dict)

    def has_alignments(self) -> bool:
        """True when every split has its alignment sidecar (the synthetic corpus does, real FSC does not)."""
        return all(alignment_path(self.root, split).is_file() for split in self.splits)

    def utterances(self) -> list[Utterance]:
        """Return all utterances, train then valid then test (then any extra test set)."""
        return [u for split in (*SPLITS, *EXTRA_TEST_SPLITS) for u in self.splits.get(split, [])]

    def test_splits(self) -> tuple[str, ...]:
        """The splits a model is scored on: ``test`` and any extra test set the corpus has."""
        return ("test", *(split for split in EXTRA_TEST_SPLITS if split in self.splits))

    @functools.cached_property
    def _fingerprint(self) -> str:
        # Size and modification time stand in for the audio bytes: hashing 30k files on every load is too
        # slow, and a regenerated or replaced file changes at least its mtime, so caches never go stale.
        audio = []
        for split in (*SPLITS, *EXTRA_TEST_SPLITS):  # the extra test sets only where the corpus has them
            for u in self.splits.get(split, []):
                stat = u.audio_path.stat()
                audio.append([split, u.utt_id, u.transcription, *u.intent, stat.st_size, stat.st_mtime_ns])
        return fingerprint_obj({"audio": audio, "labels": self.labels.to_dict()})

    def fingerprint(self) -> str:
        """Hex digest of the audio list (ids, sizes, mtimes, transcripts, intents) and the label set."""
        return self._fingerprint


def load_corpus(root: str | os.PathLike, check_audio: bool = True) -> Corpus:
    """Read and validate a corpus in the FSC layout.

    Args:
      root: the dataset root (the folder holding ``data/`` and ``wavs/``).
      check_audio: open every audio header (catches unreadable files at load time, not mid-training).

    Audio in another format than 16 kHz mono is valid (converted on read); with ``check_audio`` that is noted once
    (a logged warning with the counts per format).

    Raises ``CorpusError`` (a ValueError) or ``FileNotFoundError`` naming the file and row for: an empty split,
    missing columns, a missing or unreadable audio file, a path that escapes the root, an empty transcription or
    slot value, a duplicate path, and a label in valid/test that the training split never saw.
    """
    root = Path(root).expanduser().absolute()
    if not root.is_dir():
        raise FileNotFoundError(f"corpus root {root} does not exist or is not a directory")
    metadata = _read_metadata(root)
    splits: dict[str, list[Utterance]] = {}
    rows: dict[str, list[str]] = {}  # per split, where each utterance came from ("file, line N")
    seen_ids: dict[str, str] = {}
    formats: Counter[tuple[int, int]] = Counter()
    for split in SPLITS:
        splits[split], rows[split] = _read_split(root, split, seen_ids, formats if check_audio else None)
    for split in EXTRA_TEST_SPLITS:
        if split_csv_path(root, split).is_file():
            splits[split], rows[split] = _read_split(root, split, seen_ids, formats if check_audio else None)
    for split in splits:
        # Every split is needed: labels come from train, the epoch is chosen on valid, errors are reported on test.
        if not splits[split]:
            raise CorpusError(f"{split_csv_path(root, split)}: the {split} split is empty (a header and no rows)")
    labels = LabelSet.from_utterances(splits["train"])
    if "labels" in metadata:
        saved = LabelSet.from_dict(metadata["labels"])
        if saved != labels:
            raise CorpusError(
                f"{root / METADATA_FILE}: saved label set differs from the one built from the training split"
            )
    for split in splits:
        if split != "train":
            _check_labels_seen(splits[split], rows[split], labels)
    note = conversion_note(formats)
    if note:
        note_conversion(f"corpus {root}: {note}")
    return Corpus(root=root, splits=splits, labels=labels, metadata=metadata, audio_formats=dict(formats))


def _read_metadata(root: Path) -> dict[str, Any]:
    path = root / METADATA_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CorpusError(f"{path}: unreadable corpus metadata ({error})") from error


def _read_split(
    root: Path, split: str, seen_ids: dict[str, str], formats: Counter | None
) -> tuple[list[Utterance], list[str]]:
    """The split's utterances and where each came from; with ``formats``, every audio header is opened and counted."""
    csv_path = split_csv_path(root, split)
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path}: split file not found (expected the FSC layout under {root})")
    utterances, rows = [], []
    for where, values in read_csv_rows(csv_path):
        utt = _make_utterance(root, values, where, formats)
        if utt.utt_id in seen_ids:
            first = seen_ids[utt.utt_id]
            raise CorpusError(f"{where}: duplicate path {values['path']!r} (first at {first})")
        seen_ids[utt.utt_id] = where
        utterances.append(utt)
        rows.append(where)
    return utterances, rows


def read_csv_rows(csv_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield (where, values) per row of an FSC-style CSV: where is "<file>, line N" (1-based file lines, the header
    is line 1, as an editor shows them), values the stripped ``REQUIRED_COLUMNS`` (other columns are ignored).

    Raises ``CorpusError`` for an empty file, missing columns or a row whose field count differs from the header's.
    """
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise CorpusError(f"{csv_path}: empty file (no header)")
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise CorpusError(f"{csv_path}: missing column(s) {', '.join(missing)}; header is {header}")
        index = {name: header.index(name) for name in REQUIRED_COLUMNS}
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            where = f"{csv_path}, line {line_no}"
            if len(row) != len(header):
                raise CorpusError(f"{where}: {len(row)} fields, the header has {len(header)}")
            yield where, {name: row[i].strip() for name, i in index.items()}


def _make_utterance(root: Path, values: dict[str, str], where: str, formats: Counter | None) -> Utterance:
    rel = values["path"]
    if not rel:
        raise CorpusError(f"{where}: empty path")
    posix = PurePosixPath(rel.replace("\\", "/"))
    # A lexical check (no symlink resolution): a user may legitimately symlink wavs/ elsewhere.
    normalized = os.path.normpath(str(posix))
    if posix.is_absolute() or normalized == ".." or normalized.startswith("../"):
        raise CorpusError(f"{where}: path {rel!r} escapes the dataset root {root}")
    for column in ("speakerId", "transcription", "action", "object", "location"):
        if not values[column]:
            raise CorpusError(f"{where}: empty {column}")
    audio_path = root / normalized
    if not audio_path.is_file():
        raise FileNotFoundError(f"{where}: audio file {audio_path} not found")
    if formats is not None:
        try:
            info = soundfile.info(str(audio_path))
        except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
            raise CorpusError(f"{where}: unreadable audio file {audio_path} ({error})") from error
        formats[(int(info.samplerate), int(info.channels))] += 1
    return Utterance(
        utt_id=utterance_id(rel),
        audio_path=audio_path,
        speaker_id=values["speakerId"],
        transcription=values["transcription"],
        action=values["action"],
        object=values["object"],
        location=values["location"],
    )


def _check_labels_seen(utterances: list[Utterance], rows: list[str], labels: LabelSet) -> None:
    intents = set(labels.intents)
    slot_sets = {slot: set(labels.slot_values(slot)) for slot in LabelSet.SLOTS}
    for utt, where in zip(utterances, rows, strict=True):
        for slot in LabelSet.SLOTS:
            value = getattr(utt, slot)
            if value not in slot_sets[slot]:
                raise CorpusError(f"{where}: {slot} {value!r} never occurs in the training split")
        if utt.intent not in intents:
            raise CorpusError(f"{where}: intent {utt.intent} never occurs in the training split")
