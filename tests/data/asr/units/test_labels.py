"""Frame labels: subword frames partition each word; deduplicated frames give the LM-text form of the sentence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crossdistill.data.asr.frames import frame_labels, frame_segment_indices
from crossdistill.data.asr.phones import PHONES
from crossdistill.data.asr.units.contexts import frame_contexts
from crossdistill.data.asr.units.labels import read_frame_labels, subword_frames, write_frame_labels
from crossdistill.data.asr.units.lm_text import TextConverter, inner_silence_runs
from crossdistill.data.asr.units.questions import default_questions
from crossdistill.data.asr.units.subwords import SubwordModel, train_subword_model
from crossdistill.data.asr.units.tree import accumulate_stats, build_senone_tree
from crossdistill.kd.framewise import deduplicate

from .conftest import LEXICON, align, make_inputs, random_sentence

SILENCE_ID = 3


def random_pieces(word: str, rng: np.random.Generator, names: list[str]) -> list[int]:
    """Cut ``word`` into 1..len pieces at random points; each piece gets a fresh id so frames name their piece."""
    cuts = sorted(rng.choice(np.arange(1, len(word)), size=rng.integers(0, len(word)), replace=False).tolist())
    ids = []
    for a, b in zip([0, *cuts], [*cuts, len(word)], strict=True):
        names.append(("\u2581" if a == 0 else "") + word[a:b])
        ids.append(len(names) - 1)
    return ids


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
@example(seed=272788, min_ms=1)  # no spoken frame at all (found by a random run of the suite)
def test_subword_frames_partition_each_word_in_order(seed, min_ms):
    rng = np.random.default_rng(seed)
    words = random_sentence(rng, 1, 8)
    aligned = align(words, rng, pause=0.3, min_ms=min_ms, max_ms=min_ms + 60)
    names = ["<unk>", "<s>", "</s>", "<sil>"]
    pieces = [random_pieces(w, rng, names) for w in words]
    labels = subword_frames(aligned.words, aligned.phones, pieces, names, aligned.n_frames, SILENCE_ID)
    assert labels.shape == (aligned.n_frames,)
    silent = np.array(frame_labels(aligned.phones, aligned.n_frames)) == "SIL"
    spoken = np.flatnonzero(~silent)
    # <sil> exactly before the first and after the last spoken frame
    outside = np.ones(aligned.n_frames, dtype=bool)
    if spoken.size:  # phones of 1 ms can all fall between frame centres: then every frame is outside
        outside[spoken[0] : spoken[-1] + 1] = False
    assert ((labels == SILENCE_ID) == outside).all()
    # inside, every frame is (word, piece position); they never go back: each word's frames are contiguous and
    # split among its own pieces in order
    owner = {piece: (w, k) for w, ids in enumerate(pieces) for k, piece in enumerate(ids)}
    sequence = [owner[label] for label in labels[~outside].tolist()]
    assert sequence == sorted(sequence)
    # a spoken frame belongs to the word whose span holds it (the alignment keeps phones inside their words)
    word_of_frame = frame_segment_indices(aligned.words, aligned.n_frames, extend_last=False)
    assert [owner[label][0] for label in labels[spoken].tolist()] == word_of_frame[spoken].tolist()
    # a pause takes the nearest spoken frame's label
    for frame in np.flatnonzero(silent & ~outside).tolist():
        distance = np.abs(spoken - frame)
        nearest = spoken[distance == distance.min()][-1]
        assert labels[frame] == labels[nearest]
    for w, ids in enumerate(pieces):
        if min_ms >= 10 and len(LEXICON[words[w]]) >= len(ids):
            # every phone holds a frame centre and every piece a phone: no piece is lost
            assert {owner[label][1] for label in labels[spoken].tolist() if owner[label][0] == w} == set(
                range(len(ids))
            )


@pytest.fixture(scope="module")
def converter(tmp_path_factory):
    """A tree grown on the hand-made inputs' frames and a subword model on their LM text."""
    root = tmp_path_factory.mktemp("labels")
    inputs = make_inputs(root / "inputs")
    utterances = inputs.splits["train"]
    contexts = [frame_contexts(inputs.phones["train"][u.utt_id], u.n_frames) for u in utterances]
    stats = accumulate_stats(contexts, inputs.features("train", [u.utt_id for u in utterances]), len(PHONES), 80)
    tree = build_senone_tree(stats, PHONES, default_questions(), num_leaves=200, min_leaf_frames=20)
    train_subword_model(inputs.lm_train, root / "subword.model", 40, seed=0)
    return TextConverter(dict(LEXICON), tree.table(), tree.names(), SubwordModel(root / "subword.model"))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_deduplicated_frames_are_the_lm_text_form(converter, seed, pauses):
    """With every state of every phone holding a frame (phones >= 30 ms) and a pause between all words or none
    (the LM text having silence between words or not), the deduplicated frame labels are the converted sentence,
    for senones and phones, and for subwords whenever every word has at least as many phones as pieces."""
    converter = dataclasses.replace(converter, silence_between_words=pauses)
    rng = np.random.default_rng(seed)
    words = random_sentence(rng, 1, 8)
    aligned = align(words, rng, pause=float(pauses), min_ms=30, max_ms=90)
    contexts = frame_contexts(aligned.phones, aligned.n_frames)
    table = converter.senone_table
    senones = table[contexts[:, 0], contexts[:, 1], contexts[:, 2], contexts[:, 3]]
    model = converter.subwords
    pieces = model.encode_words(words)
    subwords = subword_frames(aligned.words, aligned.phones, pieces, model.pieces, aligned.n_frames, model.silence_id)
    text = converter.convert([" ".join(words)])

    def dedup(frames, names):
        import torch

        units, _ = deduplicate(torch.as_tensor(np.asarray(frames, dtype=np.int64)))
        return " ".join(names[i] for i in units.tolist())

    assert dedup(senones, converter.senone_names) == text["senone"][0]
    assert dedup(contexts[:, 0], PHONES) == text["phone"][0]
    if all(len(LEXICON[w]) >= len(p) for w, p in zip(words, pieces, strict=True)):
        assert dedup(subwords, model.pieces) == text["subword"][0]


def test_lm_text_form_examples(converter):
    text = converter.convert(["HOUSE SMALL", "THE ZEBRA"])
    assert text["phone"] == ["SIL HH AW S M AO L SIL", "SIL DH AH SPN SIL"]  # S S collapses; OOV -> SPN
    assert converter.oov_words == 1
    senones = text["senone"][0].split()
    # the senone form keeps both S (their states differ) and gives every phone its 3 states in order
    assert [name.rsplit("_", 2)[0] for name in senones] == [
        p for p in ("SIL", "HH", "AW", "S", "S", "M", "AO", "L", "SIL") for _ in "123"
    ]
    assert [name.rsplit("_", 2)[1] for name in senones] == ["s1", "s2", "s3"] * 9
    assert text["subword"][0].startswith("<sil> ") and text["subword"][0].endswith(" <sil>")


def test_ragged_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    lengths = [5, 0, 7]
    per_utt = [{u: rng.integers(0, 9, n).astype(np.int32) for u in ("senone", "phone", "subword")} for n in lengths]
    write_frame_labels(tmp_path / "f.npz", ["a", "b", "c"], per_utt)
    back = read_frame_labels(tmp_path / "f.npz")
    assert back.utt_ids.tolist() == ["a", "b", "c"] and back.offsets.tolist() == [0, 5, 5, 12]
    for i, labels in enumerate(per_utt):
        for unit, values in back.utterance(i).items():
            assert values.dtype == np.int32
            np.testing.assert_array_equal(values, labels[unit])


def test_lm_text_with_silence_between_words(converter):
    text = dataclasses.replace(converter, silence_between_words=True).convert(["HOUSE SMALL"])
    assert text["phone"] == ["SIL HH AW S SIL S M AO L SIL"]
    assert text["senone"][0].split()[12].startswith("SIL_s1_")
    assert text["subword"][0].count("<sil>") == 2  # subwords: silence at the edges only


def test_inner_silence_runs_skip_the_edges():
    assert inner_silence_runs(np.array([0, 0, 5, 0, 6, 6, 0, 0, 7, 0]), 0) == 2
    assert inner_silence_runs(np.array([5, 6]), 0) == 0
    assert inner_silence_runs(np.array([0, 0]), 0) == 0
