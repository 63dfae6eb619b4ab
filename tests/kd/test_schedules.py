import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdistill.kd import SCHEDULES, exp_decay, linear_ramp, triangular


def test_exp_decay_hand_values():
    assert exp_decay(1) == 1.0
    assert exp_decay(2) == pytest.approx(math.exp(-1))
    assert exp_decay(100) == pytest.approx(math.exp(-99))


def test_triangular_at_start_peak_and_end():
    # T = 100 -> mu = 50; lambda = 0.1 * max(0, 1 - |t - 50| / 25)
    assert triangular(1, 100) == 0.0
    assert triangular(25, 100) == 0.0
    assert triangular(50, 100) == pytest.approx(0.1)
    assert triangular(40, 100) == pytest.approx(0.1 * (1 - 10 / 25))
    assert triangular(75, 100) == 0.0
    assert triangular(100, 100) == 0.0
    assert triangular(50, 100, peak=0.5) == pytest.approx(0.5)


def test_triangular_odd_max_epoch_uses_fractional_mu():
    # T = 9 -> mu = 4.5; at t = 4: 0.1 * (1 - 0.5 / 2.25)
    assert triangular(4, 9) == pytest.approx(0.1 * (1 - 0.5 / 2.25))


@given(st.integers(1, 500), st.integers(1, 500))
def test_triangular_bounded(epoch, max_epoch):
    assert 0.0 <= triangular(epoch, max_epoch) <= 0.1 + 1e-12


def test_linear_ramp_endpoints():
    assert linear_ramp(1, 10, 0.0, 1.0) == 0.0
    assert linear_ramp(10, 10, 0.0, 1.0) == 1.0
    assert linear_ramp(4, 7, 0.0, 0.6) == pytest.approx(0.3)


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_epoch_must_be_positive_integer(bad):
    with pytest.raises(ValueError, match="epoch"):
        exp_decay(bad)


def test_registered_schedules_share_a_signature():
    for name in SCHEDULES:
        value = SCHEDULES.get(name)(3, 10)
        assert isinstance(value, float)
