"""Training-label noise for the synthetic SLU corpus: a share of training utterances carries a wrong intent.

Why. Paper 000's text teacher has 3.78 % training error and 0 % test error (Table I): FSC's training labels are
noisier than its test labels, so a teacher that reads the transcript is sometimes right where the label is wrong.
``label_noise=r`` gives the synthetic corpus that property: valid and test stay clean, and the teacher and the
students train on the noisy training labels, as they do on FSC.

Which rows (deterministic given the generator): exactly ``round(r * N)`` of the N training rows (Python's
``round``), taken in the order of one seeded permutation, each relabelled with an intent drawn uniformly from the
training split's *other* intents (its slots follow: the intent is the (action, object, location) triple). A row
is skipped when it is the last correctly labelled row of its intent, so every training intent keeps one right
label: the label set (built from the training labels) is the clean one, and valid/test labels stay in it.
Interpretation: paper 000 does not say what FSC's label errors look like; a uniform wrong intent is the least
structured choice.

Recorded beside the CSVs in ``data/train_label_noise.csv`` (``LABEL_NOISE_COLUMNS``): one row per relabelled
utterance, in training-CSV order, with its path, the clean label and the noisy one (which ``train_data.csv``
holds), so the clean labels stay available for analysis. ``corpus.json`` records the rate and the count.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from crossdistill.data.corpus import Corpus, CorpusError

Intent = tuple[str, str, str]
LABEL_NOISE_FILE = "train_label_noise.csv"
LABEL_NOISE_COLUMNS = ("path", "clean_action", "clean_object", "clean_location", "action", "object", "location")


def label_noise_path(root: str | os.PathLike) -> Path:
    """Where a corpus records its relabelled training rows."""
    return Path(root) / "data" / LABEL_NOISE_FILE


def check_label_noise(rate: float) -> float:
    """Return ``rate`` as a float; ``ValueError`` unless 0 <= rate < 1."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise ValueError(f"--label-noise must be a number in [0, 1), got {rate!r}") from None
    if not 0.0 <= value < 1.0:
        raise ValueError(f"--label-noise must lie in [0, 1) (a share of training utterances), got {rate!r}")
    return value


def count_noisy_rows(rate: float, n_rows: int) -> int:
    """How many of ``n_rows`` training rows get a wrong intent at ``rate``."""
    return round(check_label_noise(rate) * n_rows)


def choose_label_noise(intents: Sequence[Intent], rate: float, rng: np.random.Generator) -> dict[int, Intent]:
    """``{row: wrong intent}`` for exactly ``count_noisy_rows(rate, len(intents))`` rows of ``intents`` (the clean
    training labels in CSV order), as the module docstring describes; sorted by row.

    Raises ``ValueError`` when that many rows cannot be relabelled while every intent keeps one right label (a
    corpus too small for the rate).
    """
    wanted = count_noisy_rows(rate, len(intents))
    if wanted == 0:
        return {}
    choices = sorted(set(intents))
    if len(choices) < 2:
        raise ValueError(f"--label-noise {rate} needs at least two intents in the training split, found {choices}")
    correct_left = Counter(intents)
    chosen: dict[int, Intent] = {}
    for row in rng.permutation(len(intents)):
        clean = intents[row]
        if correct_left[clean] == 1:
            continue  # the last right label of this intent
        correct_left[clean] -= 1
        others = [intent for intent in choices if intent != clean]
        chosen[int(row)] = others[int(rng.integers(len(others)))]
        if len(chosen) == wanted:
            return dict(sorted(chosen.items()))
    raise ValueError(
        f"--label-noise {rate} asks for {wanted} of {len(intents)} training utterances with a wrong intent, but only "
        f"{len(chosen)} can have one while every training intent keeps a right label; use a larger corpus or a "
        "lower rate"
    )


@dataclass(frozen=True)
class NoisyRow:
    """One relabelled training utterance: its CSV path, its clean intent and the intent its CSV row carries."""

    path: str
    clean: Intent
    noisy: Intent


def write_label_noise(root: str | os.PathLike, rows: Sequence[NoisyRow]) -> Path:
    """Write ``data/train_label_noise.csv`` under ``root`` (a corpus being built, so a plain write)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LABEL_NOISE_COLUMNS)
    for row in rows:
        writer.writerow((row.path, *row.clean, *row.noisy))
    path = label_noise_path(root)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def read_label_noise(corpus: Corpus) -> dict[str, NoisyRow] | None:
    """``{utt_id: NoisyRow}`` of a corpus's relabelled training utterances; None when it records no label noise.

    Raises ``CorpusError`` naming the file and line for a row that does not match the corpus: a path that is not
    a training utterance (or repeats), a noisy label that differs from ``train_data.csv``'s, or a "wrong" label
    equal to the clean one.
    """
    path = label_noise_path(corpus.root)
    if not path.is_file():
        return None
    train = {u.utt_id: u for u in corpus.splits["train"]}
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or tuple(rows[0]) != LABEL_NOISE_COLUMNS:
        raise CorpusError(f"{path}: expected the header {','.join(LABEL_NOISE_COLUMNS)}")
    result: dict[str, NoisyRow] = {}
    for line, fields in enumerate(rows[1:], start=2):
        where = f"{path}, line {line}"
        if len(fields) != len(LABEL_NOISE_COLUMNS):
            raise CorpusError(f"{where}: {len(fields)} fields, expected {len(LABEL_NOISE_COLUMNS)}")
        row = NoisyRow(fields[0], (fields[1], fields[2], fields[3]), (fields[4], fields[5], fields[6]))
        utt_id = str(PurePosixPath(row.path).with_suffix(""))
        if utt_id not in train or utt_id in result:
            raise CorpusError(f"{where}: {row.path!r} is not a training utterance of {corpus.root}, or repeats")
        if train[utt_id].intent != row.noisy:
            raise CorpusError(f"{where}: label {row.noisy} differs from train_data.csv's {train[utt_id].intent}")
        if row.clean == row.noisy:
            raise CorpusError(f"{where}: the clean and the noisy label are the same, {row.clean}")
        result[utt_id] = row
    return result


def clean_train_intents(corpus: Corpus) -> list[Intent]:
    """The clean intent of every training utterance, in CSV order (the CSV's own where no noise is recorded)."""
    noise = read_label_noise(corpus) or {}
    return [noise[u.utt_id].clean if u.utt_id in noise else u.intent for u in corpus.splits["train"]]
