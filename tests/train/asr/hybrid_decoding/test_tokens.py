"""Senone scores -> phone-state tokens: the tree's senones pool per phone state, divided by the pooled priors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.asr.phones import PHONE_IDS, PHONES
from crossdistill.train.asr.hybrid_decoding.tokens import (
    SILENCE_TOKEN_ID,
    TOKEN_IDS,
    TOKENS,
    TokenMap,
    senone_phone_states,
    spell,
)

from .conftest import hand_tree


def test_inventory_is_three_states_per_speech_phone_and_one_silence():
    assert len(TOKENS) == 40 * 3 + 1 == 121
    assert TOKENS[SILENCE_TOKEN_ID] == "SIL"
    assert spell(["K", "AE"]) == [TOKEN_IDS[t] for t in ("K_s1", "K_s2", "K_s3", "AE_s1", "AE_s2", "AE_s3")]
    with pytest.raises(ValueError, match="SIL"):
        spell(["K", "SIL"])


def test_senones_map_to_the_phone_state_of_their_root():
    states = senone_phone_states(hand_tree())
    assert states.shape == (124, 2)
    assert states[0].tolist() == states[1].tolist() == [PHONE_IDS["AA"], 0]  # the split root's two leaves
    assert states[2].tolist() == [PHONE_IDS["AA"], 1]
    assert states[-1].tolist() == [len(PHONES) - 1, 2]  # SPN s3


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 2.0))
def test_emissions_are_pooled_posteriors_over_pooled_priors(seed, prior_scale):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(5, 124))
    log_posteriors = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    priors = rng.dirichlet(np.ones(124))
    token_map = TokenMap.from_tree(hand_tree(), np.log(priors), prior_scale)
    emissions = token_map.emissions(log_posteriors)
    posteriors = np.exp(log_posteriors)
    # AA_s1 pools senones 0 and 1; AA_s2 is senone 2 alone; SIL pools its three states' senones.
    sil = [s for s, (phone, _) in enumerate(senone_phone_states(hand_tree())) if PHONES[phone] == "SIL"]
    cases = {"AA_s1": [0, 1], "AA_s2": [2], "SIL": sil}
    for token, senones in cases.items():
        expected = np.log(posteriors[:, senones].sum(1)) - prior_scale * np.log(priors[senones].sum())
        np.testing.assert_allclose(emissions[:, TOKEN_IDS[token]], expected, rtol=1e-5, atol=1e-4)
    assert emissions.dtype == np.float32 and emissions.shape == (5, 121)


def test_bad_shapes_are_errors():
    token_map = TokenMap.from_tree(hand_tree(), np.log(np.full(124, 1 / 124)))
    with pytest.raises(ValueError, match="expected \\(frames, 124\\)"):
        token_map.emissions(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="10 senone priors"):
        TokenMap.from_tree(hand_tree(), np.zeros(10))
