"""Corpora in the LibriSpeech layout (the real one, unmodified, or our synthetic one): read and validate.

Layout (https://www.openslr.org/12)::

    ROOT/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<nnnn>.flac     16 kHz mono
    ROOT/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt       "ID WORD WORD ..." per line

Splits are LibriSpeech's (``train-clean-100``, ``dev-clean``, ...), Mini LibriSpeech's, or our synthetic
corpus's ``train``/``dev``/``test`` (and ``test_unseen_engine``, the second test set of ``--split unseen-engine``:
speakers of a synthesis engine that train, dev and test never use). Beside them, when present: ``lexicon.txt`` or
``librispeech-lexicon.txt`` (``WORD PH1 PH2 ...``), ``lm/text.txt`` and ``lm/valid.txt`` (LM text), ``alignments/``
(Kaldi CTMs ``{split}.words.ctm`` + ``{split}.phones.ctm``, or Montreal Forced Aligner TextGrids) and ``corpus.json``
(our synthesizer's metadata). Each of these can also be given as a path outside the corpus.

``load_asr_corpus`` checks everything before returning and raises one ``ValueError`` listing the problems
(file and line each): missing or unreadable audio, audio that is not 16 kHz mono, a transcript line whose
audio is missing, audio that no transcript line names, words missing from the lexicon, alignments that do
not spell the transcript or run past the audio, speakers shared by two splits, an empty split. It only
reads: nothing under the corpus root is written.

We read the tree ourselves rather than through ``lhotse.recipes.prepare_librispeech``, which skips a
transcript line with missing audio with a logged warning, ignores audio without a transcript, knows only
LibriSpeech's split names, and cannot say which line is wrong; ``AsrCorpus.to_lhotse`` then gives the same
lhotse manifests it would (tested), with the word and phone alignments attached.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import soundfile
from tqdm.auto import tqdm

from crossdistill.common.fingerprint import fingerprint, fingerprint_file
from crossdistill.data.alignments import Segment
from crossdistill.data.asr.alignments import AlignmentError, AsrAlignment, normalize_phone, tile_phones, validate_words
from crossdistill.data.asr.ctm import read_ctm_with_lines
from crossdistill.data.asr.lexicon import WORD_PATTERN, read_lexicon
from crossdistill.data.corpus import UNSEEN_ENGINE_TEST

SAMPLE_RATE = 16_000
MIN_SAMPLES = 400  # one 25 ms analysis window: anything shorter has no complete feature frame
LIBRISPEECH_SPLITS = (
    "train-clean-100",
    "train-clean-360",
    "train-other-500",
    "dev-clean",
    "dev-other",
    "test-clean",
    "test-other",
    "train-clean-5",  # Mini LibriSpeech
    "dev-clean-2",
)
SYNTHETIC_SPLITS = ("train", "dev", "test")
# Test sets a synthetic corpus may add (scored like test, never trained or tuned on): the held-out-engine split's,
# named as in the FSC layout (crossdistill.data.corpus).
EXTRA_TEST_SPLITS = (UNSEEN_ENGINE_TEST,)
KNOWN_SPLITS = (*SYNTHETIC_SPLITS, *EXTRA_TEST_SPLITS, *LIBRISPEECH_SPLITS)
LEXICON_FILES = ("lexicon.txt", "librispeech-lexicon.txt")
LM_TEXT_FILE = Path("lm") / "text.txt"
LM_VALID_FILE = Path("lm") / "valid.txt"
ALIGNMENTS_DIR = "alignments"
METADATA_FILE = "corpus.json"
# Our synthesizer keeps its progress here until the corpus is complete (see ``synth``).
UNFINISHED_MARKER = ".synth-in-progress"
MAX_LISTED_PROBLEMS = 20

_UTT_ID = re.compile(r"(\d+)-(\d+)-(\d+)")


@dataclass(frozen=True)
class AsrUtterance:
    """One utterance.

    Fields:
      utt_id: ``<speaker>-<chapter>-<nnnn>``.
      speaker, chapter: LibriSpeech's integer ids.
      path: the ``.flac`` file.
      words: the transcript's words (upper case).
      num_samples: audio length in samples at 16 kHz.
      transcript: the ``.trans.txt`` file and ``line`` its line, for error messages downstream.
    """

    utt_id: str
    speaker: int
    chapter: int
    path: Path
    words: tuple[str, ...]
    num_samples: int
    transcript: Path
    line: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_samples / SAMPLE_RATE


@dataclass(frozen=True)
class AsrCorpus:
    """A validated corpus.

    Fields:
      root: the corpus folder.
      splits: split name -> utterances (sorted by id).
      lexicon: ``WORD -> phones`` or None without a lexicon; ``lexicon_path`` its file.
      lm_text, lm_valid: LM-train and held-out LM text files, or None.
      alignments: split name -> utt_id -> ``AsrAlignment``, for the splits that have alignments.
      alignment_files: the files the alignments were read from (for fingerprints).
      metadata: ``corpus.json`` of a synthetic corpus, else None.
      fingerprints: hashes of the inputs taken while loading (see ``fingerprint_parts``).
    """

    root: Path
    splits: dict[str, tuple[AsrUtterance, ...]]
    lexicon: dict[str, tuple[str, ...]] | None = None
    lexicon_path: Path | None = None
    lm_text: Path | None = None
    lm_valid: Path | None = None
    alignments: dict[str, dict[str, AsrAlignment]] = field(default_factory=dict)
    alignment_files: tuple[Path, ...] = ()
    metadata: dict[str, Any] | None = None
    fingerprints: dict[str, str | None] = field(default_factory=dict)

    def utterances(self) -> list[AsrUtterance]:
        """Every utterance, split by split."""
        return [u for utterances in self.splits.values() for u in utterances]

    def extra_test_splits(self) -> tuple[str, ...]:
        """The corpus's test sets beside its usual one (``EXTRA_TEST_SPLITS`` it holds): scored, never trained on."""
        return tuple(split for split in EXTRA_TEST_SPLITS if split in self.splits)

    def fingerprint_parts(self) -> dict[str, str | None]:
        """Hashes of each input as it was read: audio (ids, lengths, file sizes and modification times),
        transcripts, lexicon (content), LM text (sizes and modification times), alignment files (content)."""
        return dict(self.fingerprints)

    def audio_fingerprint(self) -> str:
        """Hash of the audio list (keys feature caches: a changed lexicon does not change the features)."""
        return self.fingerprints["audio"]

    def fingerprint(self) -> str:
        """Hash of everything the corpus provides (``fingerprint_parts`` together)."""
        return fingerprint(self.fingerprints)

    def to_lhotse(self, split: str):
        """Return ``split`` as a lhotse ``CutSet`` (one recording and supervision per utterance).

        Cut, recording and supervision ids are the utterance id; durations, speaker and text are what
        ``lhotse.recipes.prepare_librispeech`` gives; supervisions also carry
        ``alignment={"word": [...], "phone": [...]}`` when the split has alignments.
        """
        from lhotse import CutSet, MonoCut, Recording, SupervisionSegment
        from lhotse.audio import AudioSource
        from lhotse.supervision import AlignmentItem

        def items(segments: Sequence[Segment]) -> list[AlignmentItem]:
            return [AlignmentItem(s.label, s.start, round(s.end - s.start, 8)) for s in segments]

        cuts = []
        aligned = self.alignments.get(split, {})
        for u in self.splits[split]:
            recording = Recording(
                id=u.utt_id,
                sources=[AudioSource(type="file", channels=[0], source=str(u.path))],
                sampling_rate=SAMPLE_RATE,
                num_samples=u.num_samples,
                duration=u.duration,
            )
            alignment = aligned.get(u.utt_id)
            supervision = SupervisionSegment(
                id=u.utt_id,
                recording_id=u.utt_id,
                start=0.0,
                duration=u.duration,
                channel=0,
                language="English",
                speaker=str(u.speaker),
                text=" ".join(u.words),
                alignment=None
                if alignment is None
                else {"word": items(alignment.words), "phone": items(alignment.phones)},
            )
            cuts.append(MonoCut(u.utt_id, 0.0, u.duration, 0, recording=recording, supervisions=[supervision]))
        return CutSet.from_cuts(cuts)


class _Problems:
    """Collects the problems found in a corpus so that one error lists them all (up to a limit)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = "\n".join(f"  - {m}" for m in self.items[:MAX_LISTED_PROBLEMS])
        more = len(self.items) - MAX_LISTED_PROBLEMS
        suffix = f"\n  ... and {more} more" if more > 0 else ""
        count = f"{len(self.items)} problem{'s' if len(self.items) > 1 else ''}"
        raise ValueError(f"corpus {self.root}: {count} (nothing was written):\n{shown}{suffix}")


def load_asr_corpus(
    root: str | os.PathLike,
    splits: Sequence[str] | None = None,
    lexicon: str | os.PathLike | None = None,
    lm_text: str | os.PathLike | None = None,
    lm_valid: str | os.PathLike | None = None,
    alignments: str | os.PathLike | None = None,
    allow_oov: bool = False,
    progress: bool = True,
) -> AsrCorpus:
    """Read and validate a corpus in the LibriSpeech layout (see the module docstring).

    Args:
      root: the corpus folder (LibriSpeech's ``LibriSpeech/`` or a synthetic corpus).
      splits: split folders to read (default: every known split name present under ``root``).
      lexicon: lexicon file (default: ``root/lexicon.txt`` or ``root/librispeech-lexicon.txt`` if present).
      lm_text, lm_valid: LM-train and held-out LM text (default: ``root/lm/text.txt``, ``root/lm/valid.txt``).
      alignments: folder with ``{split}.words.ctm`` and ``{split}.phones.ctm`` or with ``*.TextGrid`` files
        named ``<utt_id>.TextGrid`` (default: ``root/alignments`` if present).
      allow_oov: accept transcript words missing from the lexicon (real test sets have some); by default
        each is an error.
      progress: a progress bar over the audio headers (shown only on a terminal).

    Raises ``FileNotFoundError`` for a missing root or a given file that does not exist, and ``ValueError``
    listing every problem found (file and line each).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder {root} does not exist")
    if (root / UNFINISHED_MARKER).exists():
        raise ValueError(
            f"corpus {root} is an unfinished synthesis ({UNFINISHED_MARKER} is there); run the same "
            "`crossdistill asr data synth --out ...` command again to finish it"
        )
    split_names = _find_splits(root, splits)
    lexicon_path = _optional_file(root, lexicon, LEXICON_FILES, "--lexicon")
    lm_text_path = _optional_file(root, lm_text, (LM_TEXT_FILE,), "--lm-text")
    lm_valid_path = _optional_file(root, lm_valid, (LM_VALID_FILE,), "--lm-valid")
    alignments_dir = Path(alignments) if alignments is not None else root / ALIGNMENTS_DIR
    if alignments is not None and not alignments_dir.is_dir():
        raise FileNotFoundError(f"--alignments {alignments_dir} is not a folder")
    lexicon_table = read_lexicon(lexicon_path) if lexicon_path is not None else None

    problems = _Problems(root)
    scanned = {split: _scan_split(root / split, problems) for split in split_names}
    problems.raise_if_any()  # the audio check below needs a consistent tree

    lengths = _read_headers([u.path for split in split_names for u in scanned[split]], problems, progress)
    corpus_splits = {
        split: tuple(replace(u, num_samples=lengths.get(u.path, 0)) for u in scanned[split]) for split in split_names
    }
    _check_speakers_disjoint(corpus_splits, problems)
    if lexicon_table is not None and not allow_oov:
        _check_lexicon(corpus_splits, lexicon_table, lexicon_path, problems)
    problems.raise_if_any()

    aligned, files = ({}, ())
    if alignments_dir.is_dir():
        aligned, files = _read_alignments(alignments_dir, corpus_splits, problems, restricted=splits is not None)
    problems.raise_if_any()
    metadata_path = root / METADATA_FILE
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8")) if metadata_path.is_file() else None
    except json.JSONDecodeError as error:
        raise ValueError(f"{metadata_path}: not valid JSON ({error})") from None
    fingerprints = _fingerprint_inputs(corpus_splits, lexicon_path, lm_text_path, lm_valid_path, files)
    return AsrCorpus(
        root=root,
        splits=corpus_splits,
        lexicon=lexicon_table,
        lexicon_path=lexicon_path,
        lm_text=lm_text_path,
        lm_valid=lm_valid_path,
        alignments=aligned,
        alignment_files=files,
        metadata=metadata,
        fingerprints=fingerprints,
    )


def _fingerprint_inputs(
    splits: dict[str, tuple[AsrUtterance, ...]],
    lexicon: Path | None,
    lm_text: Path | None,
    lm_valid: Path | None,
    alignment_files: Sequence[Path],
) -> dict[str, str | None]:
    # Audio and LM text by size and modification time: hashing LibriSpeech's 60 GB of flac or its 4 GB of
    # LM text would take minutes; a rewritten file changes its modification time.
    def stat_of(path: Path | None) -> list[int] | None:
        return None if path is None else [path.stat().st_size, path.stat().st_mtime_ns]

    audio = [[u.utt_id, u.num_samples, *stat_of(u.path)] for us in splits.values() for u in us]
    return {
        "audio": fingerprint(audio),
        "transcripts": fingerprint({s: [[u.utt_id, list(u.words)] for u in us] for s, us in splits.items()}),
        "lexicon": None if lexicon is None else fingerprint_file(lexicon),
        "lm_text": fingerprint([stat_of(lm_text), stat_of(lm_valid)]),
        "alignments": fingerprint([[p.name, fingerprint_file(p)] for p in alignment_files]),
    }


def _find_splits(root: Path, requested: Sequence[str] | None) -> list[str]:
    if requested is not None:
        names = list(dict.fromkeys(requested))
        missing = [n for n in names if not (root / n).is_dir()]
        if missing:
            raise FileNotFoundError(f"split folder(s) {', '.join(str(root / n) for n in missing)} do not exist")
        if not names:
            raise ValueError("no split requested")
        return names
    names = [n for n in KNOWN_SPLITS if (root / n).is_dir()]
    if not names:
        raise ValueError(
            f"corpus {root} has no split folder; expected one or more of {', '.join(KNOWN_SPLITS)} "
            "(or name the splits explicitly)"
        )
    return names


def _optional_file(root: Path, given, defaults: Iterable[str | Path], option: str) -> Path | None:
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise FileNotFoundError(f"{option} {path} does not exist")
        return path
    for name in defaults:
        if (root / name).is_file():
            return root / name
    return None


def _scan_split(folder: Path, problems: _Problems) -> list[AsrUtterance]:
    """Find every transcript line and audio file of one split and check that they pair up.

    Returns the utterances sorted by id, with ``num_samples`` still 0 (the audio check fills it in).
    """
    first_problem = len(problems.items)
    entries: list[AsrUtterance] = []
    claimed: set[Path] = set()
    seen: dict[str, tuple[Path, int]] = {}
    for trans in sorted(folder.rglob("*.trans.txt")):
        parts = trans.relative_to(folder).parts
        speaker_dir, chapter_dir = parts[:2] if len(parts) == 3 else ("", "")
        if not (
            speaker_dir.isdigit() and chapter_dir.isdigit() and trans.name == f"{speaker_dir}-{chapter_dir}.trans.txt"
        ):
            problems.add(f"{trans}: expected <split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt")
            continue
        with open(trans, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                fields = line.split()
                if not fields:
                    continue
                where = f"{trans}, line {line_no}"
                utt_id, words = fields[0], tuple(fields[1:])
                match = _UTT_ID.fullmatch(utt_id)
                if not match or (match.group(1), match.group(2)) != (speaker_dir, chapter_dir):
                    problems.add(f"{where}: utterance id {utt_id!r} is not {speaker_dir}-{chapter_dir}-<number>")
                    continue
                if utt_id in seen:
                    problems.add(f"{where}: {utt_id} is already on line {seen[utt_id][1]} of {seen[utt_id][0]}")
                    continue
                seen[utt_id] = (trans, line_no)
                bad = [w for w in words if not WORD_PATTERN.fullmatch(w)]
                if not words:
                    problems.add(f"{where}: {utt_id} has no words")
                    continue
                if bad:
                    problems.add(f"{where}: word {bad[0]!r} is not upper-case letters and apostrophes")
                    continue
                audio = trans.parent / f"{utt_id}.flac"
                if not audio.is_file():
                    problems.add(f"{where}: {utt_id} has no audio ({audio} is missing)")
                    continue
                claimed.add(audio)
                entries.append(
                    AsrUtterance(utt_id, int(speaker_dir), int(chapter_dir), audio, words, 0, trans, line_no)
                )
    for audio in sorted(folder.rglob("*.flac")):
        if audio not in claimed:
            expected = audio.parent / f"{audio.parent.parent.name}-{audio.parent.name}.trans.txt"
            problems.add(f"{audio}: audio with no transcript ({audio.stem} is not a line of {expected})")
    if not entries and len(problems.items) == first_problem:
        problems.add(f"{folder}: empty split (no transcript line with audio)")
    return sorted(entries, key=lambda u: u.utt_id)


def _read_headers(paths: list[Path], problems: _Problems, progress: bool) -> dict[Path, int]:
    """Return each file's length in samples, after checking it opens and is 16 kHz mono and long enough."""
    lengths = {}
    for path in tqdm(paths, desc="checking audio", unit="file", disable=None if progress else True, leave=False):
        try:
            info = soundfile.info(str(path))
        except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
            problems.add(f"{path}: unreadable audio ({error})")
            continue
        if info.samplerate != SAMPLE_RATE or info.channels != 1:
            problems.add(f"{path}: {info.samplerate} Hz, {info.channels} channel(s); expected 16000 Hz mono")
        elif info.frames < MIN_SAMPLES:
            problems.add(f"{path}: {info.frames} samples, shorter than one 25 ms window ({MIN_SAMPLES})")
        lengths[path] = int(info.frames)
    return lengths


def _check_speakers_disjoint(splits: dict[str, tuple[AsrUtterance, ...]], problems: _Problems) -> None:
    owner: dict[int, str] = {}
    for split, utterances in splits.items():
        for speaker in sorted({u.speaker for u in utterances}):
            if speaker in owner:
                problems.add(
                    f"speaker {speaker} is in both {owner[speaker]} and {split}: splits must not share speakers"
                )
            else:
                owner[speaker] = split


def _check_lexicon(
    splits: dict[str, tuple[AsrUtterance, ...]], lexicon: dict[str, tuple[str, ...]], path: Path, problems: _Problems
) -> None:
    for utterances in splits.values():
        for u in utterances:
            for word in u.words:
                if word not in lexicon:
                    problems.add(f"{u.transcript}, line {u.line}: word {word!r} is not in the lexicon {path}")


def _read_alignments(
    folder: Path, splits: dict[str, tuple[AsrUtterance, ...]], problems: _Problems, restricted: bool
) -> tuple[dict[str, dict[str, AsrAlignment]], tuple[Path, ...]]:
    """Read CTM pairs or TextGrids from ``folder`` and check them against the utterances."""
    ctms = sorted(folder.glob("*.ctm"))
    grids = sorted(folder.rglob("*.TextGrid"))
    if ctms and grids:
        problems.add(f"{folder}: holds both CTM files and TextGrids; keep one kind of alignment")
        return {}, ()
    if grids:
        return _read_textgrids(grids, splits, problems, restricted), tuple(grids)
    result, files = {}, []
    for split, utterances in splits.items():
        words_ctm, phones_ctm = folder / f"{split}.words.ctm", folder / f"{split}.phones.ctm"
        if not words_ctm.is_file() and not phones_ctm.is_file():
            continue
        if not (words_ctm.is_file() and phones_ctm.is_file()):
            present, absent = (words_ctm, phones_ctm) if words_ctm.is_file() else (phones_ctm, words_ctm)
            problems.add(f"{present}: found without {absent.name}; alignments need both words and phones")
            continue
        files += [words_ctm, phones_ctm]
        result[split] = _read_ctm_pair(words_ctm, phones_ctm, utterances, problems)
    return result, tuple(files)


def _read_ctm_pair(
    words_ctm: Path, phones_ctm: Path, utterances: Sequence[AsrUtterance], problems: _Problems
) -> dict[str, AsrAlignment]:
    try:
        word_entries, phone_entries = read_ctm_with_lines(words_ctm), read_ctm_with_lines(phones_ctm)
    except ValueError as error:
        problems.add(str(error))
        return {}
    by_id = {u.utt_id: u for u in utterances}
    for path, entries in ((words_ctm, word_entries), (phones_ctm, phone_entries)):
        for utt_id, segments in entries.items():
            if utt_id not in by_id:
                problems.add(f"{path}, line {segments[0][0]}: {utt_id} is not an utterance of this split")
    result = {}
    for u in utterances:
        if u.utt_id not in word_entries or u.utt_id not in phone_entries:
            missing = words_ctm if u.utt_id not in word_entries else phones_ctm
            problems.add(f"{missing}: no alignment for {u.utt_id} ({u.transcript}, line {u.line})")
            continue
        words = word_entries[u.utt_id]
        phones = phone_entries[u.utt_id]
        alignment = _check_alignment(
            u,
            [s for _, s in words],
            [s for _, s in phones],
            lambda index, entries=words: f"{words_ctm}, line {entries[index if index is not None else 0][0]}",
            lambda index, entries=phones: f"{phones_ctm}, line {entries[index if index is not None else 0][0]}",
            problems,
        )
        if alignment is not None:
            result[u.utt_id] = alignment
    return result


def _read_textgrids(
    grids: list[Path], splits: dict[str, tuple[AsrUtterance, ...]], problems: _Problems, restricted: bool
) -> dict[str, dict[str, AsrAlignment]]:
    from crossdistill.data.asr.textgrid import read_textgrid

    split_of = {u.utt_id: (split, u) for split, utterances in splits.items() for u in utterances}
    found: dict[str, Path] = {}
    for grid in grids:
        if grid.stem in found:
            problems.add(f"{grid}: a second TextGrid for {grid.stem} (first: {found[grid.stem]})")
        elif grid.stem not in split_of and not restricted:
            problems.add(f"{grid}: {grid.stem} is not an utterance of the corpus")
        else:
            found[grid.stem] = grid
    result: dict[str, dict[str, AsrAlignment]] = {}
    for split, utterances in splits.items():
        present = [u for u in utterances if u.utt_id in found]
        if not present:
            continue
        if len(present) < len(utterances):
            first = next(u for u in utterances if u.utt_id not in found)
            problems.add(
                f"split {split}: {len(utterances) - len(present)} utterance(s) have no TextGrid, e.g. {first.utt_id} "
                f"({first.transcript}, line {first.line})"
            )
        result[split] = {}
        for u in present:
            path = found[u.utt_id]
            try:
                grid = read_textgrid(path)
            except ValueError as error:
                problems.add(str(error))
                continue
            words_tier, phones_tier = f"{path} (words tier)", f"{path} (phones tier)"
            alignment = _check_alignment(
                u, grid.words, grid.phones, lambda _, w=words_tier: w, lambda _, p=phones_tier: p, problems
            )
            if alignment is not None:
                result[split][u.utt_id] = alignment
    return result


def _check_alignment(u, words, phones, where_words, where_phones, problems: _Problems) -> AsrAlignment | None:
    """Normalize and check one utterance's alignment; add a problem and return None when it does not fit."""
    try:
        checked_words = validate_words(words, u.words, u.duration)
    except AlignmentError as error:
        problems.add(f"{where_words(error.index)}: {u.utt_id}: {error} ({u.transcript}, line {u.line})")
        return None
    normalized = []
    for index, phone in enumerate(phones):
        try:
            normalized.append(Segment(normalize_phone(phone.label), phone.start, phone.end))
        except ValueError as error:
            problems.add(f"{where_phones(index)}: {u.utt_id}: {error}")
            return None
    try:
        tiled = tile_phones(normalized, u.duration)
    except AlignmentError as error:
        problems.add(f"{where_phones(error.index)}: {u.utt_id}: {error}")
        return None
    return AsrAlignment(checked_words, tiled)
