"""Alignments from eSpeak events: sidecar format, invariants, building from events, frame-wise labels."""

from __future__ import annotations

import itertools
import json

import pytest
import soundfile
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.alignments import (
    Segment,
    build_alignment,
    frame_labels,
    load_alignments,
    load_phoneme_inventory,
    transcription_words,
)
from crossdistill.data.corpus import alignment_path, load_corpus


def test_alignments_are_ordered_inside_the_audio_and_spell_the_transcription(tiny_corpus):
    corpus = load_corpus(tiny_corpus)
    inventory = set(load_phoneme_inventory(corpus))
    for split, utterances in corpus.splits.items():
        alignments = load_alignments(corpus, split)
        assert set(alignments) == {u.utt_id for u in utterances}
        for utt in utterances:
            alignment = alignments[utt.utt_id]
            duration = soundfile.info(str(utt.audio_path)).duration
            assert [w.label for w in alignment.words] == transcription_words(utt.transcription)
            for segments in (alignment.words, alignment.phonemes):
                assert segments
                for a, b in itertools.pairwise(segments):
                    assert a.end <= b.start + 1e-9
                for s in segments:
                    assert 0.0 <= s.start < s.end <= duration + 1e-9
            assert {p.label for p in alignment.phonemes} <= inventory
            # Every word holds at least one phoneme, and every phoneme lies inside some word.
            for w in alignment.words:
                assert any(w.start - 1e-9 <= p.start and p.end <= w.end + 1e-9 for p in alignment.phonemes)
            for p in alignment.phonemes:
                assert any(w.start - 1e-9 <= p.start and p.end <= w.end + 1e-9 for w in alignment.words)


def test_speech_energy_sits_inside_the_words(tiny_corpus):
    """The alignment is of the audio as written: words are much louder than the leading padding."""
    corpus = load_corpus(tiny_corpus)
    alignments = load_alignments(corpus, "train")
    louder = 0
    for utt in corpus.splits["train"]:
        audio, rate = soundfile.read(str(utt.audio_path), dtype="float32")
        words = alignments[utt.utt_id].words
        lead = audio[: int(words[0].start * rate)]
        inside = audio[int(words[0].start * rate) : int(words[-1].end * rate)]
        louder += float((inside**2).mean()) > 4 * float((lead**2).mean())
    assert louder >= 0.9 * len(corpus.splits["train"])


def test_inventory_has_no_stress_marks_or_pauses(tiny_corpus):
    inventory = load_phoneme_inventory(load_corpus(tiny_corpus))
    assert inventory == sorted(inventory)
    assert all(not p.startswith(("'", ",", "_")) for p in inventory)
    assert len(inventory) >= 20


def test_missing_sidecar_says_what_needs_it(corpus_copy):
    alignment_path(corpus_copy, "valid").unlink()
    corpus = load_corpus(corpus_copy)
    assert not corpus.has_alignments()
    with pytest.raises(FileNotFoundError, match=r"no alignment sidecar.*pre-training"):
        load_alignments(corpus, "valid")


def test_malformed_sidecar_line_is_named(corpus_copy):
    path = alignment_path(corpus_copy, "test")
    lines = path.read_text().splitlines()
    lines[1] = json.dumps({"utt_id": "x", "words": [["a", 0.1]], "phonemes": []})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"test_alignments\.jsonl, line 2: malformed alignment entry"):
        load_alignments(load_corpus(corpus_copy), "test")


def test_build_alignment_splits_a_fused_unit_and_starts_words_at_closures():
    # eSpeak speaks "on the" as one unit (a single WORD event at text position 6).
    text = "Turn on the lights"
    phonemes = [
        ("t", 100, 1),
        ("'3:", 200, 1),
        ("n", 400, 1),
        ("O2", 500, 6),
        ("n", 600, 6),
        ("D", 700, 6),
        ("@2", 800, 6),
        ("l", 1000, 13),
        ("'aI", 1100, 13),
        ("t", 1300, 13),
        ("s", 1400, 13),
        ("_:", 1500, 19),
    ]
    words_events = [(1, 0), (6, 400), (13, 900)]  # "on" reported early (ignored), "lights" in a gap
    split = {"on": ("O2", "n"), "the": ("D", "@2")}
    words, phones = build_alignment(text, phonemes, words_events, 1600, lambda w: split.get(w, ("x",)))
    assert [w[0] for w in words] == ["turn", "on", "the", "lights"]
    assert words[0] == ("turn", 100, 500)
    assert words[1] == ("on", 500, 700)
    assert words[2] == ("the", 700, 900)  # the preceding phoneme ends where the next unit's WORD event is
    assert words[3] == ("lights", 900, 1500)
    assert phones[0] == ("t", 100, 200) and phones[1][0] == "3:"
    assert [p[0] for p in phones][-1] == "s" and phones[-1][2] == 1500


def test_frame_labels_by_hand():
    vocab = {"a": 0, "b": 1}
    segments = [Segment("a", 0.0, 0.025), Segment("b", 0.03, 0.05)]
    # Frame centres: 0.005, 0.015, 0.025, 0.035, 0.045, 0.055.
    labels = frame_labels(segments, 6, 0.01, vocab)
    assert labels.tolist() == [0, 0, -100, 1, 1, -100]
    assert frame_labels(segments, 6, 0.01, vocab, fill=7).tolist() == [0, 0, 7, 1, 1, 7]
    with pytest.raises(KeyError):
        frame_labels([Segment("c", 0.0, 0.1)], 3, 0.01, vocab)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=2, max_size=12, unique=True),
    st.integers(1, 150),
    st.sampled_from([0.01, 0.02, 0.04]),
)
def test_frame_labels_follow_frame_centres(bounds, n_frames, shift):
    bounds = sorted(bounds)
    segments = [Segment(str(i % 3), s, e) for i, (s, e) in enumerate(itertools.pairwise(bounds))]
    labels = frame_labels(segments, n_frames, shift, {"0": 0, "1": 1, "2": 2})
    assert labels.shape == (n_frames,) and labels.dtype == torch.long
    for i in range(n_frames):
        centre = (i + 0.5) * shift
        inside = [s for s in segments if s.start <= centre < s.end]
        expected = int(inside[0].label) if inside else -100
        # Exactly at a boundary, float rounding may pick either neighbour.
        if any(abs(centre - b) < 1e-9 for b in bounds):
            continue
        assert labels[i].item() == expected


def test_transcription_words():
    assert transcription_words("Turn on the Kitchen lights") == ["turn", "on", "the", "kitchen", "lights"]
    assert transcription_words("I'd like juice, please!") == ["i'd", "like", "juice", "please"]
