"""Augmenting a corpus in the Fluent Speech Commands layout (the real FSC, our synthetic one, a challenge view).

Only ``train`` gets copies. A copy of ``wavs/speakers/spk003/spk003_0007.wav`` at 0.9 is
``wavs/speakers/sp0.9-spk003/sp0.9-spk003_0007.wav`` said by speaker ``sp0.9-spk003`` (Kaldi's prefixes), with the
original's transcription and labels. What is rewritten, everything else being linked or copied unchanged:

- ``data/train_data.csv``: the original rows as they were (every column kept), then the copies' rows, one factor
  after the other, each in the original order; the unnamed index column counts on.
- ``data/train_alignments.jsonl`` (when the corpus has alignments): the original lines as they were, then the
  copies' with every time divided by the factor (four decimals, as the synthesizer writes them).
- ``data/train_label_noise.csv`` (when the corpus records label noise): a copy of a relabelled row carries the
  same wrong label, so it is listed too.
- ``corpus.json``: the source's (if any) with ``format`` set to ``FORMAT_NAME``, the copies' speakers added to
  ``splits.train`` and their seconds to ``audio_seconds`` where the source records them, and ``augmentation``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path, PurePosixPath
from typing import Any

from crossdistill.common.atomic import atomic_write_text
from crossdistill.data.alignments import Segment
from crossdistill.data.audio import SAMPLE_RATE
from crossdistill.data.augment.copies import CopyPlan, plan_copy
from crossdistill.data.augment.options import AugmentOptions, speed_prefix
from crossdistill.data.augment.timing import rescale_segments
from crossdistill.data.corpus import (
    METADATA_FILE,
    CorpusError,
    alignment_path,
    load_corpus,
    split_csv_path,
    utterance_id,
)
from crossdistill.data.label_noise import NoisyRow, read_label_noise, write_label_noise

LAYOUT = "fsc"
FORMAT_NAME = "crossdistill-augmented-fsc"
TRAIN = "train"
TIME_DECIMALS = 4


def copy_path(path: str, prefix: str) -> str:
    """The copy's CSV path: the prefix on the speaker folder and on the file name, always ``.wav``."""
    original = PurePosixPath(utterance_id(path))
    name = f"{prefix}{original.name}.wav"
    if len(original.parts) < 2:
        return name
    return str(original.parent.parent / f"{prefix}{original.parent.name}" / name)


class FscSource:
    """A validated FSC-layout corpus, and how to write its augmented training split."""

    layout = LAYOUT

    def __init__(self, root: Path) -> None:
        self.root = root
        self.corpus = load_corpus(root)
        self.header, self.rows = _read_raw_csv(split_csv_path(root, TRAIN))
        self.path_column, self.speaker_column = self.header.index("path"), self.header.index("speakerId")

    def identity(self) -> dict[str, Any]:
        return {"root": str(self.root), "layout": LAYOUT, "fingerprint": self.corpus.fingerprint(),
                "format": self.corpus.metadata.get("format")}  # fmt: skip

    def regenerated(self) -> set[str]:
        """Files (relative POSIX paths) written anew rather than taken over unchanged."""
        return {f"data/{TRAIN}_data.csv", f"data/{TRAIN}_alignments.jsonl", "data/train_label_noise.csv", METADATA_FILE}

    def plan(self, options: AugmentOptions) -> list[CopyPlan]:
        """Every copy, factor by factor, each in the training CSV's order; refuses ids the corpus already has."""
        taken = {u.utt_id for u in self.corpus.utterances()}
        known_speakers = {u.speaker_id for u in self.corpus.utterances()}
        plans = []
        for speed in options.copy_speeds():
            prefix = speed_prefix(speed)
            for row, utt in zip(self.rows, self.corpus.splits[TRAIN], strict=True):
                target = copy_path(row[self.path_column], prefix)
                copy_id, speaker = utterance_id(target), prefix + utt.speaker_id
                if copy_id in taken or speaker in known_speakers:
                    raise CorpusError(
                        f"{self.root}: the copy {copy_id!r} (speaker {speaker!r}) of {utt.utt_id!r} would clash with "
                        "an utterance or speaker the corpus already has (is it augmented already?)"
                    )
                ids, speakers = (utt.utt_id, copy_id), (utt.speaker_id, speaker)
                plans.append(plan_copy(options, speed, utt.audio_path, target, ids, speakers))
        return plans

    def write_tables(self, out: Path, copies: list[CopyPlan], samples: dict[str, int]) -> dict[str, Any]:
        """Write the training CSV, alignments and label-noise file into ``out``; returns the metadata to record."""
        index_column = 0 if self.header[0] == "" else None
        rows = [list(row) for row in self.rows]
        by_id = {u.utt_id: row for u, row in zip(self.corpus.splits[TRAIN], self.rows, strict=True)}
        for plan in copies:
            row = list(by_id[plan.source_utt])
            row[self.path_column], row[self.speaker_column] = plan.target, plan.speaker
            rows.append(row)
        if index_column is not None:
            for number, row in enumerate(rows):
                row[index_column] = str(number)
        _write_csv(split_csv_path(out, TRAIN), self.header, rows)
        if self.corpus.has_alignments():
            self._write_alignments(out, copies, samples)
        self._write_label_noise(out, copies)
        return self._metadata(copies, samples)

    def _write_alignments(self, out: Path, copies: list[CopyPlan], samples: dict[str, int]) -> None:
        source = alignment_path(self.root, TRAIN)
        lines = source.read_text(encoding="utf-8").splitlines()
        entries = {}
        for line_no, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    entry = json.loads(line)
                    entries[entry["utt_id"]] = entry
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    raise CorpusError(f"{source}, line {line_no}: malformed alignment entry ({error})") from error
        written = [line for line in lines if line.strip()]
        for plan in copies:
            entry, duration = entries[plan.source_utt], samples[plan.utt_id] / SAMPLE_RATE

            def scaled(segments, plan=plan, duration=duration):
                original = [Segment(label, start, end) for label, start, end in segments]
                rescaled = rescale_segments(original, plan.speed, duration, TIME_DECIMALS)
                return [[s.label, s.start, s.end] for s in rescaled]

            copy = {"utt_id": plan.utt_id, "duration": round(duration, TIME_DECIMALS), "words": scaled(entry["words"]),
                    "phonemes": scaled(entry["phonemes"])}  # fmt: skip
            written.append(json.dumps(copy, separators=(",", ":")))
        atomic_write_text(alignment_path(out, TRAIN), "".join(line + "\n" for line in written))

    def _write_label_noise(self, out: Path, copies: list[CopyPlan]) -> None:
        noise = read_label_noise(self.corpus)
        if noise is None:
            return
        rows = list(noise.values())
        rows += [NoisyRow(p.target, noise[p.source_utt].clean, noise[p.source_utt].noisy) for p in copies
                 if p.source_utt in noise]  # fmt: skip
        write_label_noise(out, rows)  # a plain write: ``out`` is the staging folder, published whole

    def _metadata(self, copies: list[CopyPlan], samples: dict[str, int]) -> dict[str, Any]:
        metadata = json.loads(json.dumps(self.corpus.metadata))  # a deep copy
        metadata["format"] = FORMAT_NAME
        if isinstance(metadata.get("splits"), dict) and TRAIN in metadata["splits"]:
            metadata["splits"][TRAIN] = list(metadata["splits"][TRAIN]) + list(dict.fromkeys(p.speaker for p in copies))
        if "audio_seconds" in metadata:
            added = sum(samples[p.utt_id] for p in copies) / SAMPLE_RATE
            metadata["audio_seconds"] = round(metadata["audio_seconds"] + added, 3)
        return metadata

    def check(self, out: Path) -> None:
        """Read the written corpus as every command will (``CorpusError`` if it does not load)."""
        corpus = load_corpus(out)
        read_label_noise(corpus)


def _read_raw_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the non-empty rows of a CSV, every column as written (``load_corpus`` has checked them)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], [row for row in rows[1:] if row]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
