"""The lexicon beam search (flashlight-text, ASG mode) over phone-state scores: emissions that spell known words are
decoded back to them, whatever the state durations and silences; the word LM decides between acoustic ties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.train.asr.hybrid_decoding.options import SearchOptions
from crossdistill.train.asr.hybrid_decoding.search import LexiconSearch
from crossdistill.train.asr.hybrid_decoding.tokens import SILENCE_TOKEN_ID, TOKEN_IDS, TOKENS, spell

from .conftest import TINY_ARPA, peaked_scores

# No spelling is a concatenation of others, so a token sequence has exactly one word segmentation.
LEXICON = {"THE": ("DH", "AH"), "CAT": ("K", "AE", "T"), "BAT": ("B", "AE", "T"), "RUNS": ("R", "AH", "N", "Z"),
           "A": ("AH",)}  # fmt: skip


def frames_of(words, state_frames, silences) -> list[int]:
    """Token per frame: ``silences[i]`` silence frames before word i (and the last after), each state of each
    phone held for the next entry of ``state_frames``."""
    durations = iter(state_frames)
    columns = [SILENCE_TOKEN_ID] * silences[0]
    for index, word in enumerate(words):
        for token in spell(LEXICON[word]):
            columns += [token] * next(durations)
        columns += [SILENCE_TOKEN_ID] * silences[index + 1]
    return columns


@st.composite
def utterances(draw):
    words = draw(st.lists(st.sampled_from(sorted(LEXICON)), min_size=1, max_size=5))
    states = sum(3 * len(LEXICON[w]) for w in words)
    state_frames = draw(st.lists(st.integers(1, 4), min_size=states, max_size=states))
    silences = draw(st.lists(st.integers(0, 5), min_size=len(words) + 1, max_size=len(words) + 1))
    return words, state_frames, silences


@pytest.fixture(scope="module")
def arpa(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "tiny.arpa"
    path.write_text(TINY_ARPA)
    return path


@pytest.fixture(scope="module")
def lexicon_only():
    return LexiconSearch(LEXICON, None)


@settings(max_examples=60, deadline=None)
@given(utterances())
def test_peaked_emissions_spelling_words_decode_to_them(lexicon_only, utterance):
    words, state_frames, silences = utterance
    emissions = peaked_scores(frames_of(words, state_frames, silences), len(TOKENS)).astype(np.float32)
    assert lexicon_only.decode(emissions) == words


def test_a_word_whose_last_state_lasts_many_frames_is_found_once(lexicon_only):
    # The last state (T_s3) held 6 frames: the repeated-last-token spelling lets it stay inside the word.
    emissions = peaked_scores(frames_of(["CAT"], [1, 1, 1, 1, 1, 1, 1, 1, 6], [2, 2]), len(TOKENS))
    assert lexicon_only.decode(emissions.astype(np.float32)) == ["CAT"]


def test_with_an_arpa_trigram_the_same_words_come_back(arpa):
    search = LexiconSearch(LEXICON, arpa, SearchOptions(lm_weight=1.0))
    emissions = peaked_scores(frames_of(["THE", "CAT", "RUNS"], [2] * 27, [3, 0, 1, 3]), len(TOKENS))
    assert search.decode(emissions.astype(np.float32)) == ["THE", "CAT", "RUNS"]


def ambiguous_cat_or_bat() -> np.ndarray:
    """THE ?AT RUNS where K and B score the same on every frame: only the LM can choose."""
    columns = frames_of(["THE", "CAT", "RUNS"], [2] * 27, [3, 0, 0, 3])
    emissions = peaked_scores(columns, len(TOKENS))
    for state in range(3):
        frames = [t for t, c in enumerate(columns) if c == TOKEN_IDS[f"K_s{state + 1}"]]
        emissions[frames, TOKEN_IDS[f"B_s{state + 1}"]] = 0.0
    return emissions.astype(np.float32)


def test_the_word_lm_decides_an_acoustic_tie(arpa, tmp_path):
    assert LexiconSearch(LEXICON, arpa, SearchOptions(lm_weight=1.0)).decode(ambiguous_cat_or_bat())[1] == "CAT"
    swapped = tmp_path / "swapped.arpa"  # the same LM with CAT and BAT exchanged
    swapped.write_text(TINY_ARPA.replace("CAT", "TMP").replace("BAT", "CAT").replace("TMP", "BAT"))
    assert LexiconSearch(LEXICON, swapped, SearchOptions(lm_weight=1.0)).decode(ambiguous_cat_or_bat())[1] == "BAT"


def test_changing_options_keeps_the_trie_and_lm(arpa):
    search = LexiconSearch(LEXICON, arpa, SearchOptions(lm_weight=1.0))
    search.set_options(SearchOptions(lm_weight=1.0, word_score=-50.0))  # each word now costs more than it explains
    emissions = peaked_scores(frames_of(["A"], [1, 1, 1], [1, 1]), len(TOKENS)).astype(np.float32)
    assert search.decode(emissions) == []
    search.set_options(SearchOptions(lm_weight=1.0))
    assert search.decode(emissions) == ["A"]


def test_bad_input_is_an_error(arpa, tmp_path):
    with pytest.raises(ValueError, match=r"expected \(frames, 121\)"):
        LexiconSearch(LEXICON, None).decode(np.zeros((4, 10), np.float32))
    with pytest.raises(ValueError, match=r"'SILENCE'.*SIL"):
        LexiconSearch({"SILENCE": ("SIL",)}, None)
    with pytest.raises(FileNotFoundError, match=r"missing\.arpa"):
        LexiconSearch(LEXICON, tmp_path / "missing.arpa")
    (tmp_path / "bad.arpa").write_text("not an arpa\n")
    with pytest.raises(ValueError, match=r"bad\.arpa: KenLM cannot read it"):
        LexiconSearch(LEXICON, tmp_path / "bad.arpa")
    with pytest.raises(ValueError, match="beam_threshold"):
        LexiconSearch(LEXICON, None, SearchOptions(beam_threshold=0))


def test_homophones_of_equal_score_decode_the_same_way_every_time():
    # RED and READ share a spelling and, without an LM, their score: the first in sorted order wins, every time.
    lexicon = {"RED": ("R", "EH", "D"), "READ": ("R", "EH", "D"), "A": ("AH",)}
    emissions = peaked_scores(frames_of_lexicon(lexicon, ["RED", "A", "RED"]), len(TOKENS)).astype(np.float32)
    results = {tuple(LexiconSearch(lexicon, None).decode(emissions)) for _ in range(5)}
    assert results == {("READ", "A", "READ")}


def frames_of_lexicon(lexicon, words) -> list[int]:
    columns = [SILENCE_TOKEN_ID] * 2
    for word in words:
        columns += [token for token in spell(lexicon[word]) for _ in range(2)]
    return [*columns, *[SILENCE_TOKEN_ID] * 2]
