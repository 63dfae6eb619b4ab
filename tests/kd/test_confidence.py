import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.kd import (
    DEFAULT_DROPOUT_SITE,
    T_ONLY_SITES,
    dropout_confidence,
    dropout_confidence_from_features,
    dropout_confidence_from_masks,
    sample_dropout_masks,
)

logit_rows = st.lists(st.floats(-20, 20), min_size=2, max_size=32)


def _dropped_vector(z, site):
    """What each logit site drops, written out per row."""
    if site == "centred_logits":
        return z - z.mean()
    if site == "log_probs":
        return z.log_softmax(-1)
    return z


def _loop_reference(logits, masks, site):
    """The formula read literally, one sample and one mask at a time, averaged over the masks that count."""
    out = torch.zeros(logits.shape[0], dtype=torch.float64)
    for b in range(logits.shape[0]):
        z = logits[b].double()
        t = z.softmax(-1)
        counted = 0
        for n in range(masks.shape[0]):
            mask = masks[n, b].double()
            if site == "probs":  # T restricted to the kept classes, renormalized; KL(q || T)
                if not (mask > 0).any():
                    continue
                kept = (mask > 0).double() * t
                q = kept / kept.sum()
                out[b] += sum(qi * (qi / ti).log() for qi, ti in zip(q, t, strict=True) if qi > 0)
            else:  # KL(T || softmax(mask * dropped vector))
                q = (_dropped_vector(z, site) * mask).softmax(-1)
                out[b] += (t * (t.log() - q.log())).sum()
            counted += 1
        out[b] /= counted
    return out


@pytest.mark.parametrize("site", ["centred_logits", "log_probs", "probs", "raw_logits"])
def test_matches_literal_formula_with_same_masks(site):
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(5, 7, generator=generator) * 3
    masks = sample_dropout_masks((5, 7), 20, 0.2, generator)
    expected = _loop_reference(logits, masks, site)
    assert torch.allclose(dropout_confidence_from_masks(logits, masks, site).double(), expected, atol=1e-5)


def test_default_site_is_a_function_of_t():
    assert DEFAULT_DROPOUT_SITE in T_ONLY_SITES


@settings(max_examples=60, deadline=None)
@given(logit_rows, st.floats(-50, 50), st.sampled_from(T_ONLY_SITES), st.floats(0.05, 0.5))
def test_t_only_sites_ignore_a_constant_added_to_the_logits(row, shift, site, p):
    # softmax(z + c) = softmax(z): the same T, so the same D (same masks from the same seed).
    logits = torch.tensor([row], dtype=torch.float64)
    d = dropout_confidence(logits, 32, p, torch.Generator().manual_seed(0), site=site)
    shifted = dropout_confidence(logits + shift, 32, p, torch.Generator().manual_seed(0), site=site)
    assert shifted.item() == pytest.approx(d.item(), rel=1e-9, abs=1e-9)


def test_raw_logits_are_not_a_function_of_t():
    # The observation: +5 on every logit leaves T unchanged but moves raw-logit D.
    logits = torch.tensor([[4.0, 1.0, 0.0, -1.0]], dtype=torch.float64)
    d = dropout_confidence(logits, 100, 0.1, torch.Generator().manual_seed(0), site="raw_logits")
    shifted = dropout_confidence(logits + 5, 100, 0.1, torch.Generator().manual_seed(0), site="raw_logits")
    assert abs(shifted.item() - d.item()) > 0.05


def test_uniform_teacher_has_zero_d_under_centred_logits():
    uniform = torch.full((3, 31), 2.5)
    assert torch.equal(dropout_confidence(uniform, 50, 0.3), torch.zeros(3))


def test_probs_site_is_minus_log_kept_mass_and_skips_masks_that_drop_everything():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64))
    keep = 1 / (1 - 0.5)
    masks = torch.tensor([[[0.0, keep, keep]], [[0.0, 0.0, 0.0]], [[keep, keep, keep]]], dtype=torch.float64)
    # mask 1 keeps 0.3 of the mass, mask 2 drops every class (skipped), mask 3 keeps everything (KL 0)
    d = dropout_confidence_from_masks(logits, masks, "probs")
    assert d.item() == pytest.approx(-math.log(0.3) / 2, rel=1e-12)
    with pytest.raises(ValueError, match="dropped all classes"):
        dropout_confidence_from_masks(logits, masks[1:2], "probs")


def test_hand_computed_two_class_case_on_raw_logits():
    # z = [2, 0]; the only mask that changes anything drops z_0 -> q = uniform; keeping scales z_0 by 1/(1-p).
    z = torch.tensor([[2.0, 0.0]])
    p = 0.5
    masks = torch.tensor([[[0.0, 2.0]], [[2.0, 2.0]]])  # mask 1 drops z_0, mask 2 keeps both
    t = z.softmax(-1)[0]
    kl_uniform = (t * (t.log() - torch.tensor([0.5, 0.5]).log())).sum()
    q2 = (z * 2).softmax(-1)[0]
    kl_scaled = (t * (t.log() - q2.log())).sum()
    expected = (kl_uniform + kl_scaled) / 2
    assert dropout_confidence_from_masks(z, masks, "raw_logits").item() == pytest.approx(expected.item(), rel=1e-5)
    assert masks.max().item() == 1 / (1 - p)


def test_masks_have_inverted_dropout_values_and_rate():
    masks = sample_dropout_masks((1000, 31), 10, 0.1, torch.Generator().manual_seed(0))
    values = torch.unique(masks)
    assert values.tolist() == [0.0, pytest.approx(1 / 0.9)]
    assert (masks == 0).float().mean().item() == pytest.approx(0.1, abs=0.01)


def test_reproducible_from_generator_and_differs_across_seeds():
    logits = torch.randn(8, 31)
    a = dropout_confidence(logits, generator=torch.Generator().manual_seed(7))
    b = dropout_confidence(logits, generator=torch.Generator().manual_seed(7))
    c = dropout_confidence(logits, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_chunked_computation_agrees_with_single_pass():
    logits = torch.randn(16, 31) * 4
    full = dropout_confidence(logits, 100, 0.1, torch.Generator().manual_seed(1))
    chunked = dropout_confidence(logits, 100, 0.1, torch.Generator().manual_seed(1), max_elements=16 * 31 * 7)
    # Different mask draws, same estimator: agreement within Monte-Carlo error, not bitwise.
    assert torch.allclose(full, chunked, rtol=0.35, atol=1e-3)


@settings(max_examples=50, deadline=None)
@given(logit_rows, st.floats(0.0, 0.9))
def test_non_negative(row, p):
    d = dropout_confidence(torch.tensor([row]), n_masks=16, p=p, generator=torch.Generator().manual_seed(0))
    assert d.item() >= -1e-6


@settings(max_examples=30, deadline=None)
@given(logit_rows)
def test_vanishes_as_p_goes_to_zero(row):
    logits = torch.tensor([row], dtype=torch.float64)
    assert dropout_confidence(logits, n_masks=8, p=0.0).item() == pytest.approx(0.0, abs=1e-12)
    small = dropout_confidence(logits, 200, 1e-4, torch.Generator().manual_seed(0)).item()
    large = dropout_confidence(logits, 200, 0.3, torch.Generator().manual_seed(0)).item()
    assert small <= large + 1e-9


def test_frame_wise_shapes():
    d = dropout_confidence(torch.randn(2, 9, 41), n_masks=5)
    assert d.shape == (2, 9)


def test_feature_dropout_uses_the_head():
    torch.manual_seed(0)
    head = torch.nn.Linear(16, 5)
    features = torch.randn(4, 16)
    d = dropout_confidence_from_features(features, head, 50, 0.1, torch.Generator().manual_seed(0))
    assert d.shape == (4,) and (d >= 0).all() and (d > 0).any()
    generator = torch.Generator().manual_seed(0)
    same = dropout_confidence(None, 50, 0.1, generator, site="features", features=features, head=head)
    assert torch.equal(d, same)
    assert head.weight.grad is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p": 1.0}, "p must lie"),
        ({"p": -0.1}, "p must lie"),
        ({"n_masks": 0}, "n_masks"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dropout_confidence(torch.randn(2, 5), **kwargs)


def test_bad_logits():
    with pytest.raises(ValueError, match="2 classes"):
        dropout_confidence(torch.randn(3, 1))
    with pytest.raises(ValueError, match="non-finite"):
        dropout_confidence(torch.tensor([[1.0, float("inf")]]))
    with pytest.raises(ValueError, match="both features and head"):
        dropout_confidence(None, site="features", features=torch.randn(2, 3))
    with pytest.raises(ValueError, match="only used by site='features'"):
        dropout_confidence(torch.randn(2, 3), features=torch.randn(2, 3), head=torch.nn.Linear(3, 3))
    with pytest.raises(ValueError, match="unknown dropout site 'logit'"):
        dropout_confidence(torch.randn(2, 3), site="logit")
