import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.kd import (
    DISTANCES,
    PROBABILITY_TEACHER_DISTANCES,
    compute_distance,
    kl_distance,
    kl_from_probabilities_distance,
    l1_distance,
)

logit_rows = st.lists(st.floats(-20, 20), min_size=2, max_size=16)


def test_l1_hand_value():
    student = torch.tensor([[1.0, 2.0, 3.0]])
    teacher = torch.tensor([[0.0, 2.0, 5.0]])
    assert l1_distance(student, teacher).item() == pytest.approx((1 + 0 + 2) / 3)


def test_kl_hand_value_with_temperature():
    student = torch.tensor([[0.0, 0.0]])
    teacher = torch.tensor([[math.log(3.0) * 2, 0.0]])  # at T = 2: teacher probabilities (0.75, 0.25)
    expected = (0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)) * 4
    assert kl_distance(student, teacher, temperature=2.0).item() == pytest.approx(expected, rel=1e-5)


@settings(max_examples=40, deadline=None)
@given(logit_rows)
def test_identical_inputs_give_zero(row):
    logits = torch.tensor([row])
    for name in DISTANCES:
        teacher = logits.softmax(dim=-1) if name in PROBABILITY_TEACHER_DISTANCES else logits.clone()
        value = compute_distance(name, logits, teacher).item()
        if name == "soft_ce":  # the teacher's own entropy, not 0
            assert value >= -1e-6
        else:
            assert value == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("name", ["l1", "mse", "kl", "soft_ce"])
def test_masked_frames_change_nothing(name):
    torch.manual_seed(0)
    student = torch.randn(3, 6, 5)
    teacher = torch.randn(3, 6, 5)
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[0, 4:] = False
    mask[2, 1:] = False
    before = compute_distance(name, student, teacher, mask)
    student_changed = student.clone()
    student_changed[~mask] = 100.0
    teacher_changed = teacher.clone()
    teacher_changed[~mask] = -50.0
    after = compute_distance(name, student_changed, teacher_changed, mask)
    assert torch.allclose(before, after)
    assert before.shape == (3,)


@pytest.mark.parametrize("name", ["l1", "mse", "kl", "soft_ce"])
def test_no_gradient_reaches_the_teacher(name):
    student = torch.randn(4, 7, requires_grad=True)
    teacher = torch.randn(4, 7, requires_grad=True)
    compute_distance(name, student, teacher, temperature=2.0).sum().backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="shapes differ"):
        l1_distance(torch.randn(2, 5), torch.randn(2, 6))
    with pytest.raises(ValueError, match="mask must have shape"):
        l1_distance(torch.randn(2, 5), torch.randn(2, 5), mask=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="bool"):
        l1_distance(torch.randn(2, 5), torch.randn(2, 5), mask=torch.ones(2))
    with pytest.raises(ValueError, match="teacher contains non-finite"):
        l1_distance(torch.randn(2, 5), torch.full((2, 5), float("nan")))
    with pytest.raises(ValueError, match="temperature"):
        kl_distance(torch.randn(2, 5), torch.randn(2, 5), temperature=0.0)
    with pytest.raises(ValueError, match="unknown distance 'l3'"):
        compute_distance("l3", torch.randn(2, 5), torch.randn(2, 5))


@settings(max_examples=60, deadline=None)
@given(logit_rows, logit_rows, st.floats(0.25, 8.0))
def test_kl_probs_equals_kl_on_the_teacher_log_probabilities(student_row, teacher_row, temperature):
    width = min(len(student_row), len(teacher_row))
    student = torch.tensor([student_row[:width]], dtype=torch.float64)
    teacher_logits = torch.tensor([teacher_row[:width]], dtype=torch.float64)
    probs = teacher_logits.softmax(dim=-1)
    expected = kl_distance(student, teacher_logits, temperature=temperature)
    got = kl_from_probabilities_distance(student, probs, temperature=temperature)
    assert torch.allclose(got, expected, rtol=1e-6, atol=1e-9)


def test_kl_probs_reads_only_the_teacher_support_and_tempers_it():
    student = torch.tensor([[0.0, 1.0, 2.0, -1.0]])
    teacher = torch.tensor([[0.8, 0.2, 0.0, 0.0]])  # a top-2 row densified: zeros have no logit
    temperature = 2.0
    tempered = torch.tensor([0.8, 0.2]) ** (1 / temperature)
    tempered = tempered / tempered.sum()
    log_q = torch.log_softmax(student[0] / temperature, dim=-1)[:2]
    expected = (tempered * (tempered.log() - log_q)).sum() * temperature**2
    got = kl_from_probabilities_distance(student, teacher, temperature=temperature)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    assert torch.isfinite(got).all()


def test_kl_probs_ignores_padded_rows_and_rejects_non_distributions():
    student = torch.randn(2, 3, 4)
    teacher = torch.softmax(torch.randn(2, 3, 4), dim=-1)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    before = kl_from_probabilities_distance(student, teacher, mask)
    teacher_padded = teacher.clone()
    teacher_padded[~mask] = 0.0  # what a padded batch holds there: not a distribution, and never read
    assert torch.allclose(kl_from_probabilities_distance(student, teacher_padded, mask), before)
    with pytest.raises(ValueError, match="sum to 1"):
        kl_from_probabilities_distance(student, teacher_padded)
    with pytest.raises(ValueError, match="non-negative"):
        kl_from_probabilities_distance(student[0], teacher[0] - 0.5)
