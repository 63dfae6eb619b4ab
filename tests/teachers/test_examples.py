"""Deduplication of transcripts into unique examples, with honest counts and clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdistill.teachers.text.examples import (
    TeacherDataError,
    build_corpus_examples,
    build_examples,
    normalize_transcript,
    unique_texts,
)

ROWS = [
    ("Turn on the lights", "activate", "lights", "none"),
    ("turn  on the lights ", "activate", "lights", "none"),  # same text up to spacing
    ("Turn on the lights", "activate", "lights", "none"),
    ("Stop the music", "deactivate", "music", "none"),
]


@given(st.text())
def test_normalize_is_idempotent_and_collapses_whitespace(text):
    once = normalize_transcript(text)
    assert normalize_transcript(once) == once
    assert "  " not in once and once == once.strip()


@given(st.lists(st.sampled_from(["a b", "a  b", "c", " c ", "d e f", "x"]), max_size=30))
def test_unique_texts_maps_every_input_to_its_normalized_row(texts):
    unique, rows = unique_texts(texts)
    assert len(set(unique)) == len(unique)
    assert [unique[r] for r in rows] == [normalize_transcript(t) for t in texts]


def test_build_examples_deduplicates_and_keeps_counts(make_corpus):
    corpus = make_corpus({"train": ROWS})
    examples = build_examples(corpus.splits["train"], corpus.labels, "train")
    assert [(e.text, e.count) for e in examples] == [
        ("Turn on the lights", 2),
        ("turn on the lights", 1),
        ("Stop the music", 1),
    ]
    assert sum(e.count for e in examples) == len(ROWS)
    stop = examples[2]
    assert corpus.labels.intents[stop.intent] == ("deactivate", "music", "none")
    assert stop.slots == (
        corpus.labels.actions.index("deactivate"),
        corpus.labels.objects.index("music"),
        corpus.labels.locations.index("none"),
    )


def test_same_transcript_with_two_label_sets_stays_two_examples(make_corpus):
    corpus = make_corpus({"train": [*ROWS, ("Stop the music", "deactivate", "lights", "none")]})
    examples = build_examples(corpus.splits["train"], corpus.labels, "train")
    assert sorted(e.intent for e in examples if e.text == "Stop the music") == sorted(
        {
            corpus.labels.intents.index(("deactivate", "music", "none")),
            corpus.labels.intents.index(("deactivate", "lights", "none")),
        }
    )


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_transcription_is_rejected_naming_the_utterance(make_corpus, text):
    corpus = make_corpus({"train": ROWS, "valid": [(text, "activate", "lights", "none")]})
    with pytest.raises(TeacherDataError, match=r"split 'valid', utterance 'wavs/speakers/valid/0000': empty"):
        build_corpus_examples(corpus)


def test_label_unknown_to_the_label_set_is_rejected(make_corpus):
    corpus = make_corpus({"train": ROWS, "test": [("Louder", "increase", "volume", "none")]})
    with pytest.raises(TeacherDataError, match=r"split 'test'.*\('increase', 'volume', 'none'\).*not in the label"):
        build_corpus_examples(corpus)
