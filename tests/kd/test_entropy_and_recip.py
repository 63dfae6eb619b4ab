import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from crossdistill.kd import normalized_entropy, normalized_entropy_from_logits, recip
from crossdistill.kd.entropy import entropy

logit_rows = st.lists(st.floats(-30, 30), min_size=2, max_size=40)


def test_uniform_and_one_hot():
    for c in (2, 5, 31, 1000):
        uniform = torch.full((1, c), 1.0 / c)
        assert normalized_entropy(uniform).item() == pytest.approx(1.0, abs=1e-5)
        one_hot = torch.zeros(1, c)
        one_hot[0, 0] = 1.0
        assert normalized_entropy(one_hot).item() == 0.0


def test_entropy_hand_value():
    probs = torch.tensor([[0.5, 0.25, 0.25]])
    expected = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert entropy(probs).item() == pytest.approx(expected, rel=1e-6)
    assert normalized_entropy(probs).item() == pytest.approx(expected / math.log(3), rel=1e-6)


@given(logit_rows)
def test_normalized_entropy_in_unit_interval(row):
    logits = torch.tensor([row], dtype=torch.float64)
    value = normalized_entropy(logits.softmax(-1)).item()
    assert -1e-9 <= value <= 1 + 1e-9
    assert normalized_entropy_from_logits(logits).item() == pytest.approx(value, abs=1e-9)


def test_recip_hand_values():
    assert recip(0.0) == 1.0
    assert recip(1.0) == 0.5
    assert torch.allclose(recip(torch.tensor([0.0, 3.0])), torch.tensor([1.0, 0.25]))


@given(st.floats(0, 1e6))
def test_recip_in_half_open_unit_interval(x):
    assert 0.0 < recip(x) <= 1.0


def test_entropy_rejects_bad_input():
    with pytest.raises(ValueError, match="2 classes"):
        normalized_entropy(torch.ones(3, 1))
    with pytest.raises(ValueError, match="sum to 1"):
        normalized_entropy(torch.full((1, 4), 0.5))
    with pytest.raises(ValueError, match="non-finite"):
        normalized_entropy(torch.tensor([[float("nan"), 1.0]]))
    with pytest.raises(ValueError, match="non-negative"):
        recip(-0.5)
