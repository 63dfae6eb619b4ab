"""Held-out speakers per split (valid_speakers, test_speakers) and the v2 benchmark preset that uses them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdistill.data.speakers import get_preset
from crossdistill.data.synth import split_speakers, synthesize_corpus


@given(n=st.integers(3, 300), valid=st.integers(1, 60), test=st.integers(1, 60), seed=st.integers(0, 1000))
def test_split_has_the_asked_counts_or_refuses(n, valid, test, seed):
    if valid + test >= n:
        with pytest.raises(ValueError, match="leave a training speaker"):
            split_speakers(n, np.random.default_rng(seed), valid, test)
        return
    split_of = split_speakers(n, np.random.default_rng(seed), valid, test)
    assert len(split_of) == n
    assert (split_of.count("valid"), split_of.count("test"), split_of.count("train")) == (valid, test, n - valid - test)


@pytest.mark.parametrize("n", [3, 10, 97, 130])
def test_default_counts_are_the_split_of_before(n):
    # None keeps FSC's share and the very same assignment, so existing corpora are rebuilt byte for byte.
    assert split_speakers(n, np.random.default_rng(7), None, None) == split_speakers(n, np.random.default_rng(7))
    held_out = max(1, round(n * 10 / 97))
    assert split_speakers(n, np.random.default_rng(7), None, None) == split_speakers(
        n, np.random.default_rng(7), held_out, held_out
    )


def test_v2_preset_has_the_issue_14_test_set_and_noise():
    v2 = get_preset("v2")
    assert v2.test_speakers >= 40 and v2.test_speakers * v2.utterances_per_speaker >= 2400
    assert v2.label_noise == 0.038
    assert v2.difficulty == get_preset("default").difficulty
    train = v2.speakers - v2.valid_speakers - v2.test_speakers
    assert train == 77  # the default's training size


def test_counts_reach_the_corpus_and_its_options(tmp_path):
    root = synthesize_corpus(
        tmp_path / "c", preset="tiny", speakers=5, utterances_per_speaker=1, test_speakers=2, progress=False
    )
    meta = json.loads((root / "corpus.json").read_text())
    assert {split: len(speakers) for split, speakers in meta["splits"].items()} == {"train": 2, "valid": 1, "test": 2}
    assert meta["options"]["test_speakers"] == 2 and "valid_speakers" not in meta["options"]


def test_too_many_held_out_speakers_are_refused_before_synthesis(tmp_path):
    with pytest.raises(ValueError, match="leave a training speaker"):
        synthesize_corpus(tmp_path / "c", preset="tiny", speakers=6, test_speakers=5, progress=False)
    assert not (tmp_path / "c").exists()


def test_v2_plan_has_the_sizes_and_noise_the_docs_state():
    # Planned without audio: 77/20/40 speakers x 60 utterances, and 176 of the 4,620 training labels made wrong.
    from crossdistill.data.label_noise import choose_label_noise
    from crossdistill.data.synth import plan_corpus

    v2 = get_preset("v2")
    plan = plan_corpus(v2.speakers, v2.utterances_per_speaker, v2.difficulty, 0, "random", v2.valid_speakers,
                       v2.test_speakers)  # fmt: skip
    sizes = {split: sum(len(p) for p, s in zip(plan.utterances, plan.split_of, strict=True) if s == split)
             for split in ("train", "valid", "test")}  # fmt: skip
    assert sizes == {"train": 4620, "valid": 1200, "test": 2400}
    train = [u.phrasing.intent for p, s in zip(plan.utterances, plan.split_of, strict=True) if s == "train" for u in p]
    assert len(choose_label_noise(train, v2.label_noise, np.random.default_rng(0))) == 176
