"""Turn corpus utterances into the teacher's training and inference examples.

FSC repeats ~248 phrasings over 30k utterances, so the teacher works on *unique* inputs: identical
(normalized) transcripts are computed once, and every result is fanned back out to the utterances that
share it. The per-utterance counts are kept with each example so that errors and (optionally) the training
loss still count every utterance, i.e. the label counts stay honest.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crossdistill.data.corpus import Corpus, LabelSet, Utterance


class TeacherDataError(ValueError):
    """A corpus the text teacher cannot use as it is; the message names the split and the utterance."""


def normalize_transcript(text: str) -> str:
    """Return the text the teacher reads: Unicode NFKC, whitespace runs collapsed, ends stripped.

    Only changes that cannot alter the meaning are made; case and punctuation are left to the tokenizer
    (the default MiniLM tokenizer is uncased), so two transcripts are "the same" exactly when the teacher
    cannot tell them apart up to spacing.
    """
    return " ".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True)
class TextExample:
    """One unique (transcript, labels) pair of a split.

    Fields:
      text: the normalized transcript.
      intent: the intent id in the label set.
      slots: the (action, object, location) ids.
      count: how many utterances of the split carry exactly this transcript and these labels.
    """

    text: str
    intent: int
    slots: tuple[int, int, int]
    count: int


def check_transcripts(utterances: Iterable[Utterance], split: str) -> None:
    """Raise ``TeacherDataError`` for an utterance whose transcription is empty after normalization."""
    for utt in utterances:
        if not normalize_transcript(utt.transcription):
            raise TeacherDataError(f"split {split!r}, utterance {utt.utt_id!r}: empty transcription")


def encode_labels(utt: Utterance, labels: LabelSet, split: str) -> tuple[int, tuple[int, int, int]]:
    """Return (intent id, slot ids) of ``utt``; raises ``TeacherDataError`` naming the unknown label."""
    try:
        return labels.encode_intent(utt), labels.encode_slots(utt)
    except (KeyError, ValueError) as error:
        raise TeacherDataError(f"split {split!r}: {error}") from error


def build_examples(utterances: Sequence[Utterance], labels: LabelSet, split: str) -> list[TextExample]:
    """Deduplicate a split into unique (normalized transcript, labels) examples, in first-seen order.

    A transcript that occurs with two different label sets stays two examples (the data disagree with
    themselves; hiding that would make the reported error dishonest).
    """
    check_transcripts(utterances, split)
    counts: dict[tuple[str, int, tuple[int, int, int]], int] = {}
    for utt in utterances:
        intent, slots = encode_labels(utt, labels, split)
        key = (normalize_transcript(utt.transcription), intent, slots)
        counts[key] = counts.get(key, 0) + 1
    return [TextExample(text, intent, slots, count) for (text, intent, slots), count in counts.items()]


def build_corpus_examples(corpus: Corpus) -> dict[str, list[TextExample]]:
    """Return the unique examples of every split of ``corpus`` (train, valid, test)."""
    return {split: build_examples(utts, corpus.labels, split) for split, utts in corpus.splits.items()}


def unique_texts(texts: Iterable[str]) -> tuple[list[str], list[int]]:
    """Deduplicate normalized ``texts``: return (unique texts in first-seen order, row of each input)."""
    rows: dict[str, int] = {}
    index = []
    for text in texts:
        index.append(rows.setdefault(normalize_transcript(text), len(rows)))
    return list(rows), index
