"""Augmenting a corpus in the LibriSpeech layout (the real one, Mini LibriSpeech, paper 001's synthetic one).

Every split whose name starts with ``train`` gets copies; the others are linked or copied unchanged. LibriSpeech's
speaker, chapter and utterance ids are numbers (the reader checks ``<speaker>-<chapter>-<nnnn>``), so Kaldi's
``sp0.9-`` prefix cannot be used as it is: a copy's speaker id is the factor in thousandths written before the
original id, padded to the corpus's widest speaker id. With speakers up to 4 digits, the 0.9 copy of speaker 1034 is
speaker 9001034 and the 1.1 copy is 11001034 (``corpus.json`` lists the mapping); chapter and utterance number stay.
These ids are larger than every original one, so they never clash and speakers stay disjoint across splits.

Written anew: the copies' chapter folders (audio and ``.trans.txt``), the training splits' alignments with the copies
added (Kaldi CTMs: every original line, then the copies' with times divided by the factor, whole milliseconds as
``write_ctm`` writes them; MFA TextGrids: one more TextGrid per copy, beside its original's speaker folder) and
``corpus.json`` (the source's, if any, with ``format`` set to ``FORMAT_NAME`` (also under ``options``, so the
synthesizer never takes the folder for its own corpus), the training splits' ``counts`` updated, and
``augmentation``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crossdistill.data.asr.ctm import read_ctm, write_ctm
from crossdistill.data.asr.librispeech import (
    ALIGNMENTS_DIR,
    METADATA_FILE,
    MIN_SAMPLES,
    SAMPLE_RATE,
    load_asr_corpus,
)
from crossdistill.data.asr.textgrid import read_textgrid, write_textgrid
from crossdistill.data.augment.copies import CopyPlan, plan_copy
from crossdistill.data.augment.options import AugmentOptions, speed_key
from crossdistill.data.augment.signal import perturbed_length
from crossdistill.data.augment.timing import rescale_segments

LAYOUT = "librispeech"
FORMAT_NAME = "crossdistill-augmented-librispeech"
TIERS = ("words", "phones")


def is_training_split(name: str) -> bool:
    """LibriSpeech's ``train-clean-100`` ... and the synthetic corpus's ``train``."""
    return name.startswith("train")


class LibriSpeechSource:
    """A validated LibriSpeech-layout corpus, and how to write its augmented training splits."""

    layout = LAYOUT

    def __init__(self, root: Path, progress: bool = True) -> None:
        self.root = root
        self.corpus = load_asr_corpus(root, progress=progress)
        self.train_splits = [split for split in self.corpus.splits if is_training_split(split)]
        if not self.train_splits:
            raise ValueError(
                f"--corpus {root} has no training split to augment (it has {', '.join(self.corpus.splits)}; "
                "only splits named train* get copies)"
            )
        self.alignments_dir = root / ALIGNMENTS_DIR
        speakers = [u.speaker for u in self.corpus.utterances()]
        self.speaker_digits = len(str(max(speakers)))
        self.by_id = {u.utt_id: u for split in self.train_splits for u in self.corpus.splits[split]}

    def identity(self) -> dict[str, Any]:
        metadata = self.corpus.metadata or {}
        source_format = metadata.get("format") or (metadata.get("options") or {}).get("format")
        return {"root": str(self.root), "layout": LAYOUT, "fingerprint": self.corpus.fingerprint(),
                "format": source_format}  # fmt: skip

    def copy_speaker(self, speaker: int, speed: float) -> int:
        """The copy's speaker id: the factor in thousandths, then the original id padded to the widest one."""
        return speed_key(speed) * 10**self.speaker_digits + speaker

    def regenerated(self) -> set[str]:
        """Files (relative POSIX paths) written anew rather than taken over unchanged."""
        ctms = {f"{ALIGNMENTS_DIR}/{split}.{tier}.ctm" for split in self.train_splits for tier in TIERS}
        return ctms | {METADATA_FILE}

    def plan(self, options: AugmentOptions) -> list[CopyPlan]:
        """Every copy, factor by factor, split by split, in utterance-id order."""
        plans = []
        for speed in options.copy_speeds():
            for split in self.train_splits:
                for u in self.corpus.splits[split]:
                    if perturbed_length(u.num_samples, speed) < MIN_SAMPLES:
                        raise ValueError(
                            f"--speed {speed:g} makes the copy of {u.utt_id} ({u.transcript}, line {u.line}) shorter "
                            f"than {MIN_SAMPLES} samples, which the reader refuses"
                        )
                    speaker = self.copy_speaker(u.speaker, speed)
                    copy_id = f"{speaker}-{u.chapter}-{u.utt_id.rsplit('-', 1)[1]}"
                    target = f"{split}/{speaker}/{u.chapter}/{copy_id}.flac"
                    ids, speakers = (u.utt_id, copy_id), (str(u.speaker), str(speaker))
                    plans.append(plan_copy(options, speed, u.path, target, ids, speakers))
        return plans

    def write_tables(self, out: Path, copies: list[CopyPlan], samples: dict[str, int]) -> dict[str, Any]:
        """Write the copies' transcripts and the alignments into ``out``; returns the metadata to record."""
        chapters: dict[Path, list[str]] = {}
        for plan in copies:
            words = " ".join(self.by_id[plan.source_utt].words)
            chapters.setdefault(Path(plan.target).parent, []).append(f"{plan.utt_id} {words}\n")
        for folder, lines in chapters.items():
            speaker, chapter = folder.parent.name, folder.name
            (out / folder / f"{speaker}-{chapter}.trans.txt").write_text("".join(sorted(lines)), encoding="utf-8")
        for split in self.train_splits:
            if split in self.corpus.alignments:
                self._write_alignments(out, split, [p for p in copies if p.target.startswith(f"{split}/")], samples)
        return self._metadata(copies, samples)

    def _write_alignments(self, out: Path, split: str, copies: list[CopyPlan], samples: dict[str, int]) -> None:
        ctms = {tier: self.alignments_dir / f"{split}.{tier}.ctm" for tier in TIERS}
        if all(path.is_file() for path in ctms.values()):
            for tier, path in ctms.items():
                entries = read_ctm(path)  # labels as written: the reader normalizes them
                for plan in copies:
                    duration = samples[plan.utt_id] / SAMPLE_RATE
                    entries[plan.utt_id] = rescale_segments(entries[plan.source_utt], plan.speed, duration)
                write_ctm(out / ALIGNMENTS_DIR / f"{split}.{tier}.ctm", entries)
            return
        grids = {grid.stem: grid for grid in sorted(self.alignments_dir.rglob("*.TextGrid"))}
        for plan in copies:
            grid = grids[plan.source_utt]
            original = read_textgrid(grid)
            duration = samples[plan.utt_id] / SAMPLE_RATE
            folder = grid.parent.relative_to(self.alignments_dir)
            if folder.name == str(self.by_id[plan.source_utt].speaker):
                folder = folder.parent / plan.speaker
            write_textgrid(
                out / ALIGNMENTS_DIR / folder / f"{plan.utt_id}.TextGrid",
                rescale_segments(original.words, plan.speed, duration),
                rescale_segments(original.phones, plan.speed, duration),
                duration,
            )

    def _metadata(self, copies: list[CopyPlan], samples: dict[str, int]) -> dict[str, Any]:
        metadata = json.loads(json.dumps(self.corpus.metadata or {}))  # a deep copy
        metadata["format"] = FORMAT_NAME
        if isinstance(metadata.get("options"), dict) and "format" in metadata["options"]:
            metadata["options"]["format"] = FORMAT_NAME
        counts = metadata.get("counts")
        for split in self.train_splits if isinstance(counts, dict) else ():
            mine = [p for p in copies if p.target.startswith(f"{split}/")]
            if split not in counts or not mine:
                continue
            count = counts[split]
            seconds = count.get("seconds", 0) + sum(samples[p.utt_id] for p in mine) / SAMPLE_RATE
            added = {
                "speakers": len({p.speaker for p in mine}),
                "utterances": len(mine),
                "words": sum(len(self.by_id[p.source_utt].words) for p in mine),
                "repeated_sentences": len(mine),  # every copy says a sentence its original says
            }
            for key, value in added.items():
                if key in count:
                    count[key] += value
            count.update({"seconds": round(seconds, 3), "hours": round(seconds / 3600, 4)})
        return metadata

    def check(self, out: Path) -> None:
        """Read the written corpus as every command will (``ValueError`` listing its problems if it does not load)."""
        load_asr_corpus(out, progress=False)
