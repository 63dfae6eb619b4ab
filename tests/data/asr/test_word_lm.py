"""The trigram word ARPA from LM text with KenLM's lmplz: built, pruned, cached by text and options, clear errors.

Tests that run lmplz skip where KenLM is not installed (``make install`` builds it); the error test needs nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from crossdistill.data.asr import word_lm
from crossdistill.data.asr.word_lm import (
    MissingToolError,
    WordLmOptions,
    build_word_lm,
    kenlm_available,
    read_arpa_counts,
)

needs_kenlm = pytest.mark.skipif(
    not kenlm_available(), reason=f"KenLM's lmplz/build_binary are not installed: {word_lm.INSTALL_HINT}"
)
TEXT = "THE CAT SAT\nTHE CAT RAN\nTHE DOG SAT\nA CAT SAT ON THE MAT\nTHE DOG RAN\n" * 3 + "A BIRD FLEW\n"


@pytest.fixture
def text(tmp_path) -> Path:
    path = tmp_path / "text.txt"
    path.write_text(TEXT)
    return path


@needs_kenlm
def test_builds_a_trigram_and_reuses_it(text, tmp_path, monkeypatch):
    lm = build_word_lm(text, WordLmOptions(prune=(0, 0, 0)), tmp_path / "cache")
    counts = read_arpa_counts(lm.arpa)
    # Unigrams: the 10 words + <s> </s> <unk>.
    assert counts["1"] == 13 and set(counts) == {"1", "2", "3"} and counts["3"] > 0
    assert lm.path == lm.binary and lm.binary.stat().st_size > 0
    assert "\\3-grams:" in lm.arpa.read_text() and "THE CAT SAT" in lm.arpa.read_text()

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a cached LM was built again")

    monkeypatch.setattr(word_lm, "_run", no_rebuild)
    assert build_word_lm(text, WordLmOptions(prune=(0, 0, 0)), tmp_path / "cache").folder == lm.folder


@needs_kenlm
def test_pruning_drops_singleton_ngrams_and_changes_the_key(text, tmp_path):
    full = build_word_lm(text, WordLmOptions(prune=(0, 0, 0)), tmp_path / "cache")
    pruned = build_word_lm(text, WordLmOptions(prune=(0, 1, 1)), tmp_path / "cache")
    assert pruned.folder != full.folder
    # "A BIRD FLEW" is seen once: its bigrams and trigrams go; the unigrams stay.
    assert read_arpa_counts(pruned.arpa)["1"] == read_arpa_counts(full.arpa)["1"]
    assert read_arpa_counts(pruned.arpa)["2"] < read_arpa_counts(full.arpa)["2"]
    assert "BIRD FLEW" in full.arpa.read_text() and "BIRD FLEW" not in pruned.arpa.read_text()


@needs_kenlm
def test_a_changed_text_is_another_lm(text, tmp_path):
    first = build_word_lm(text, cache_dir=tmp_path / "cache")
    text.write_text(TEXT + "A NEW LINE\n")
    assert build_word_lm(text, cache_dir=tmp_path / "cache").folder != first.folder


def test_a_missing_tool_names_it_and_the_install_command(text, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match=r"KenLM's lmplz is not installed.*make install"):
        build_word_lm(text, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_bad_input_is_an_error(tmp_path, text):
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        build_word_lm(tmp_path / "missing.txt", cache_dir=tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    with pytest.raises(ValueError, match="holds no words"):
        build_word_lm(empty, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="3 non-negative counts starting with 0"):
        build_word_lm(text, WordLmOptions(prune=(1, 1, 1)), tmp_path)
    with pytest.raises(ValueError, match="must not decrease"):
        WordLmOptions(prune=(0, 2, 1)).check()
    with pytest.raises(ValueError, match="not an ARPA"):
        read_arpa_counts(text)
