"""Text splits: the shipped sample, the by-document split and its invariants, determinism."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.asr.text import (
    SPLITS,
    NormalizedDocument,
    SplitFractions,
    TextSplits,
    load_text_splits,
    restrict_to_vocabulary,
    split_documents,
)
from crossdistill.data.asr.text_normalize import NORMALIZED

LM_PARTS = ("lm_train", "lm_valid")
HELD_OUT = ("am_dev", "am_test")
AM_PARTS = ("am_train", "am_dev", "am_test")


@pytest.fixture(scope="module")
def sample() -> TextSplits:
    return load_text_splits("sample", seed=0)


def _sentences_of_groups(documents, groups) -> set[str]:
    return {s for d in documents if d.group in groups for s in d.sentences}


def test_sample_parts_are_normalized_and_nonempty(sample: TextSplits) -> None:
    for part in SPLITS:
        sentences = getattr(sample, part)
        assert sentences, part
        assert all(NORMALIZED.fullmatch(s) for s in sentences), part
        assert len(set(sentences)) == len(sentences), part
    for part in ("am_train", *HELD_OUT):
        assert all(4 <= len(s.split()) <= 25 for s in getattr(sample, part))


def test_sample_groups_are_disjoint_and_held_out_text_is_not_in_lm_text(sample: TextSplits) -> None:
    all_groups = [g for part in SPLITS for g in sample.groups[part]]
    assert len(all_groups) == len(set(all_groups))
    lm_text = set(sample.lm_train) | set(sample.lm_valid)
    for part in (*HELD_OUT, "am_train"):
        assert not lm_text & set(getattr(sample, part))
    assert not set(sample.am_dev) & set(sample.am_test)
    assert not set(sample.lm_train) & set(sample.lm_valid)


def test_sample_sources_report_licence_and_counts(sample: TextSplits) -> None:
    names = [s["name"] for s in sample.sources]
    assert names == ["kjv", "devil"]
    for summary in sample.sources:
        assert "public domain" in summary["licence"]
        assert summary["documents"] > 0 and summary["words"] > 1000


def test_deterministic_given_seed(sample: TextSplits) -> None:
    again = load_text_splits("sample", seed=0)
    assert again == sample
    other = load_text_splits("sample", seed=1)
    assert other.groups != sample.groups and other.key != sample.key


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown text source 'gutenberg'"):
        load_text_splits("gutenberg")
    with pytest.raises(ValueError, match="am_words"):
        load_text_splits("sample", am_words=(5, 4))
    with pytest.raises(ValueError, match="sum to less than 1"):
        SplitFractions(lm_valid=0.5, am_train=0.5)


sentence = st.lists(st.sampled_from(["A", "B", "C", "D", "E"]), min_size=1, max_size=8).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(st.lists(sentence, min_size=1, max_size=6), min_size=6, max_size=20),
    seed=st.integers(0, 1000),
)
def test_split_by_document_properties(groups: list[list[str]], seed: int) -> None:
    # Few distinct words, so the same sentence often occurs in several groups (and sources).
    documents = [
        NormalizedDocument(source, f"g{i}", tuple(sentences[k::2]))
        for i, sentences in enumerate(groups)
        for k, source in enumerate(("x", "y"))
        if sentences[k::2]
    ]
    fractions = SplitFractions(lm_valid=0.1, am_train=0.2, am_dev=0.1, am_test=0.1)
    parts, part_groups = split_documents(documents, seed, fractions, am_words=(1, 25), min_lm_words=1)
    assert sorted(g for p in SPLITS for g in part_groups[p]) == sorted({d.group for d in documents})
    lm_text = set(parts["lm_train"]) | set(parts["lm_valid"])
    for part in HELD_OUT:
        assert part_groups[part]
        assert not lm_text & _sentences_of_groups(documents, part_groups[part])
    # Every sentence of the text is somewhere, once.
    kept = [s for p in SPLITS for s in parts[p]]
    assert len(kept) == len(set(kept)) == len({s for d in documents for s in d.sentences})
    assert split_documents(documents, seed, fractions, (1, 25), 1) == (parts, part_groups)


def _lm_ranking(text: TextSplits) -> list[str]:
    counts: dict[str, int] = {}
    for sentence in text.lm_train:
        for word in sentence.split():
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda word: (-counts[word], word))


@settings(max_examples=20, deadline=None)
@given(size=st.integers(min_value=150, max_value=3000))
def test_closed_vocabulary_keeps_exactly_the_covered_am_sentences(sample: TextSplits, size: int) -> None:
    vocabulary = set(_lm_ranking(sample)[:size])
    try:
        closed = restrict_to_vocabulary(sample, size)
    except ValueError as error:  # some AM part has no covered sentence: the message names it
        assert "uses only the" in str(error)
        assert any(all(not set(s.split()) <= vocabulary for s in getattr(sample, p)) for p in AM_PARTS)
        return
    for part in AM_PARTS:
        assert getattr(closed, part) == [s for s in getattr(sample, part) if set(s.split()) <= vocabulary]
    assert (closed.lm_train, closed.lm_valid) == (sample.lm_train, sample.lm_valid)
    assert closed.key != sample.key


def test_closed_vocabulary_refuses_a_bad_size(sample: TextSplits) -> None:
    with pytest.raises(ValueError, match="closed vocabulary size must be >= 1, got 0"):
        restrict_to_vocabulary(sample, 0)
    with pytest.raises(ValueError, match="no am_train sentence uses only the 1 most frequent LM words"):
        restrict_to_vocabulary(sample, 1)
