"""Subword model training (deterministic) and the piece -> phone allocation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdistill.data.asr.units.subwords import (
    SILENCE_PIECE,
    SubwordModel,
    allocate_phones,
    piece_weights,
    train_subword_model,
)

from .conftest import random_sentence


@given(st.lists(st.integers(1, 12), min_size=1, max_size=8), st.integers(0, 30))
def test_allocation_gives_every_phone_once_in_proportion(weights, n_phones):
    counts = allocate_phones(weights, n_phones)
    assert len(counts) == len(weights) and sum(counts) == n_phones and min(counts) >= 0
    if n_phones >= len(weights):
        assert min(counts) >= 1
    else:
        # fewer phones than pieces: the plain rounded cumulative shares
        total = sum(weights)
        cuts = [int(np.floor(n_phones * c / total + 0.5)) for c in np.cumsum(weights)[:-1]]
        assert counts == [b - a for a, b in zip([0, *cuts], [*cuts, n_phones], strict=True)]


@given(st.lists(st.integers(1, 12), min_size=1, max_size=6), st.integers(1, 6))
def test_allocation_is_exactly_proportional_when_it_can_be(weights, scale):
    n_phones = sum(weights) * scale  # every share is a whole number
    assert allocate_phones(weights, n_phones) == [w * scale for w in weights]


def test_allocation_examples():
    assert allocate_phones([3, 1], 4) == [3, 1]
    assert allocate_phones([6, 1, 1], 3) == [1, 1, 1]  # each piece keeps one phone
    assert allocate_phones([1, 1, 1], 2) == [1, 0, 1]  # fewer phones than pieces


def test_piece_weights_count_letters_not_the_boundary_mark():
    assert piece_weights(["\u2581THE", "S", "\u2581"]) == [3, 1, 1]


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("text") / "text.txt"
    path.write_text("".join(" ".join(random_sentence(rng)) + "\n" for _ in range(300)))
    return path


def test_training_is_deterministic_and_has_the_silence_piece(text, tmp_path):
    train_subword_model(text, tmp_path / "a.model", 40, seed=0)
    train_subword_model(text, tmp_path / "b.model", 40, seed=0)
    assert (tmp_path / "a.model").read_bytes() == (tmp_path / "b.model").read_bytes()
    model = SubwordModel(tmp_path / "a.model")
    assert len(model.pieces) == 40
    assert model.pieces[:4] == ["<unk>", "<s>", "</s>", SILENCE_PIECE] and model.silence_id == 3


def test_sampling_a_large_text_is_seeded(text, tmp_path):
    assert train_subword_model(text, tmp_path / "a.model", 40, seed=0, max_sentences=100) == 100
    train_subword_model(text, tmp_path / "b.model", 40, seed=0, max_sentences=100)
    assert (tmp_path / "a.model").read_bytes() == (tmp_path / "b.model").read_bytes()


def test_words_encoded_alone_spell_the_sentence_segmentation(text, tmp_path):
    train_subword_model(text, tmp_path / "m.model", 40, seed=0)
    model = SubwordModel(tmp_path / "m.model")
    for sentence in text.read_text().splitlines()[:50]:
        per_word = [piece for pieces in model.encode_words(sentence.split()) for piece in pieces]
        assert per_word == model.processor.encode(sentence)
        assert SILENCE_PIECE not in [model.pieces[i] for i in per_word]


def test_too_many_subwords_is_a_clear_error(text, tmp_path):
    with pytest.raises(ValueError, match="--subwords"):
        train_subword_model(text, tmp_path / "m.model", 5000, seed=0)
    assert not (tmp_path / "m.model").exists()
