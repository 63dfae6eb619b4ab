"""Arora et al.'s challenge splits of the real Fluent Speech Commands, read into a corpus every command accepts.

The splits come from Arora, Ostapenko, Viswanathan, Dalmia, Metze, Watanabe and Black, "Rethinking End-to-End
Evaluation of Decomposable Tasks: A Case Study on Spoken Language Understanding" (Interspeech 2021,
arXiv:2106.15065). They are distributed apart from FSC, in the repository github.com/maseEval/mase, as four CSVs
in FSC's own format (an extra ``Unnamed: 0`` index column; paths relative to the FSC root) in each of
``slu_splits/fluent_speech_commands/challenge_splits/`` and ``.../unseen_splits/``::

    train_data.csv  valid_data.csv  speaker_test_data.csv  utterance_test_data.csv

ESPnet's ``egs2/fsc_challenge`` and ``egs2/fsc_unseen`` recipes read them from ``<FSC root>/data/challenge_splits/``
and ``<FSC root>/data/unseen_splits/``. The two test sets share one train and one valid set: the unseen-utterance
test holds transcripts that no training row has, the unseen-speaker test holds speakers that no training row has.

``build_challenge_view`` turns the folder of CSVs plus one chosen test set into a *split view*: a small folder in
the FSC layout (``data/{train,valid,test}_data.csv``, ``corpus.json``) whose ``wavs`` is a symbolic link to the FSC
copy's, so training, teacher, caches and reports take it as ``--corpus`` unchanged. Every challenge row must be a
row of the FSC copy's own CSVs (same path, speaker, transcription and slots), and every valid or test intent must
occur in training; otherwise nothing is written and the error names the file, line, row or intent.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from crossdistill.common import fingerprint_file
from crossdistill.data.corpus import (
    METADATA_FILE,
    REQUIRED_COLUMNS,
    SPLITS,
    CorpusError,
    load_corpus,
    read_csv_rows,
    split_csv_path,
    utterance_id,
)
from crossdistill.data.splits import UNSEEN_SPEAKER, UNSEEN_UTTERANCE, check_every_intent_trained

VIEW_FORMAT = "crossdistill-fsc-challenge-view"
VIEW_FORMAT_VERSION = 1
TRAIN_FILE, VALID_FILE = "train_data.csv", "valid_data.csv"
TEST_FILES = {"utterance": "utterance_test_data.csv", "speaker": "speaker_test_data.csv"}
SPLIT_OF_TEST = {"utterance": UNSEEN_UTTERANCE, "speaker": UNSEEN_SPEAKER}
_COMPARED = ("speakerId", "transcription", "action", "object", "location")


def challenge_files(splits_dir: str | os.PathLike, test: str) -> dict[str, Path]:
    """The CSV read for each split (train, valid, test) when ``test`` (utterance or speaker) is the test set."""
    if test not in TEST_FILES:
        raise ValueError(f"--test {test!r} is unknown; choose one of {', '.join(TEST_FILES)}")
    folder = Path(splits_dir).expanduser().absolute()
    files = {"train": folder / TRAIN_FILE, "valid": folder / VALID_FILE, "test": folder / TEST_FILES[test]}
    for path in files.values():
        if not path.is_file():
            present = sorted(p.name for p in folder.glob("*.csv")) if folder.is_dir() else []
            raise FileNotFoundError(
                f"{path} not found: a challenge-split folder holds {TRAIN_FILE}, {VALID_FILE} and "
                f"{' / '.join(TEST_FILES.values())} (found: {', '.join(present) or 'no CSV files'})"
            )
    return files


def read_challenge_rows(files: dict[str, Path], fsc_root: str | os.PathLike) -> dict[str, list[dict[str, str]]]:
    """Read and check the challenge CSVs against the FSC copy at ``fsc_root``; returns each split's rows in file order.

    Raises ``CorpusError`` naming the file and line for a row that is not a row of the FSC copy's own CSVs (or
    differs from it), a path listed twice, an empty split, or a valid/test intent that no training row has.
    """
    corpus = load_corpus(fsc_root, check_audio=False)  # validates the FSC copy itself (CSVs, audio files present)
    known = {u.utt_id: u for u in corpus.utterances()}
    seen: dict[str, str] = {}
    rows: dict[str, list[dict[str, str]]] = {}
    wheres: dict[str, list[str]] = {}
    for split, path in files.items():
        rows[split], wheres[split] = [], []
        for where, values in read_csv_rows(path):
            utt_id = utterance_id(values["path"])
            original = known.get(utt_id)
            if original is None:
                raise CorpusError(
                    f"{where}: path {values['path']!r} is not a row of the corpus at {corpus.root} "
                    f"(its data/{{train,valid,test}}_data.csv); are the splits for this FSC copy?"
                )
            for column in _COMPARED:
                expected = original.speaker_id if column == "speakerId" else getattr(original, column)
                if values[column] != expected:
                    raise CorpusError(
                        f"{where}: {column} {values[column]!r} differs from the corpus's {expected!r} for path "
                        f"{values['path']!r}"
                    )
            if utt_id in seen:
                raise CorpusError(f"{where}: path {values['path']!r} is listed twice (first at {seen[utt_id]})")
            seen[utt_id] = where
            rows[split].append(values)
            wheres[split].append(where)
        if not rows[split]:
            raise CorpusError(f"{path}: the {split} split is empty (a header and no rows)")
    trained = {_intent(values) for values in rows["train"]}
    held_out = [
        (_intent(v), where) for split in ("valid", "test") for v, where in zip(rows[split], wheres[split], strict=True)
    ]
    check_every_intent_trained(trained, held_out)
    return rows


def build_challenge_view(
    fsc_root: str | os.PathLike, splits_dir: str | os.PathLike, test: str, out: str | os.PathLike
) -> Path:
    """Write the split view of ``fsc_root`` with the challenge splits in ``splits_dir`` and test set ``test``.

    Args:
      fsc_root: an FSC copy (``data/*_data.csv`` and ``wavs/``); never written.
      splits_dir: the folder with the challenge CSVs (e.g. mase's ``challenge_splits`` or ``unseen_splits``).
      test: ``utterance`` (unseen-utterance test) or ``speaker`` (unseen-speaker test).
      out: the view's folder; must not exist or be empty, or hold the view of the same options and CSV bytes
        (then it is returned as is).

    Everything is checked before anything is written; the view appears whole (built beside ``out``, then renamed).
    """
    files = challenge_files(splits_dir, test)
    root = Path(fsc_root).expanduser().absolute()
    options = {"fsc_root": str(root), "splits_dir": str(files["train"].parent), "test": test,
               "split": SPLIT_OF_TEST[test]}  # fmt: skip
    sources = {split: {"file": path.name, "sha256": fingerprint_file(path)} for split, path in files.items()}
    out = Path(out).expanduser().absolute()
    if _existing_view_matches(out, options, sources):
        return out
    rows = read_challenge_rows(files, root)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        _write_view(staging, root, rows, options, sources)
        load_corpus(staging, check_audio=False)  # the view reads like any corpus
        if out.exists():
            out.rmdir()  # empty (checked above); rename cannot replace a non-empty folder
        os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out


def _intent(values: dict[str, str]) -> tuple[str, str, str]:
    return (values["action"], values["object"], values["location"])


def _write_view(
    staging: Path, root: Path, rows: dict[str, list[dict[str, str]]], options: dict[str, Any], sources: dict
) -> None:
    (staging / "data").mkdir()
    for split in SPLITS:
        with open(split_csv_path(staging, split), "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(("", *REQUIRED_COLUMNS))
            for index, values in enumerate(rows[split]):
                writer.writerow((index, *(values[column] for column in REQUIRED_COLUMNS)))
    # The audio stays where it is: link each top-level folder the paths use (FSC: wavs/).
    tops = {PurePosixPath(utterance_id(values["path"])).parts[0] for part in rows.values() for values in part}
    for top in sorted(tops):
        os.symlink(root / top, staging / top, target_is_directory=True)
    metadata = {
        "format": VIEW_FORMAT,
        "format_version": VIEW_FORMAT_VERSION,
        "options": options,
        "split": {"kind": options["split"], "sources": sources},
        "utterances": {split: len(rows[split]) for split in SPLITS},
    }
    (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=1) + "\n", encoding="utf-8")


def _existing_view_matches(out: Path, options: dict[str, Any], sources: dict) -> bool:
    if not out.exists():
        return False
    if not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    if not any(out.iterdir()):
        return False
    try:
        metadata = json.loads((out / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        metadata = {}
    if metadata.get("format") == VIEW_FORMAT and metadata.get("options") == options:
        if metadata.get("split", {}).get("sources") == sources:
            return True
        raise ValueError(f"--out {out} holds a view of other versions of the challenge CSVs; remove it or use another")
    raise ValueError(f"--out {out} is not empty and holds no view of these options; choose another folder or remove it")
