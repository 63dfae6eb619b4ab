"""Length-aware pooling gives what an unpadded utterance would give."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.students.masking import (
    make_pad_mask,
    masked_avg_pool,
    masked_max_over_time,
    masked_max_pool,
    pool_lengths,
)


def test_make_pad_mask_marks_valid_frames():
    mask = make_pad_mask(torch.tensor([3, 1]), 4)
    assert mask.tolist() == [[True, True, True, False], [True, False, False, False]]


@settings(max_examples=40, deadline=None)
@given(
    length=st.integers(1, 23),
    pad=st.integers(0, 9),
    factor=st.integers(1, 4),
    pool=st.sampled_from(["avg", "max"]),
)
def test_pooling_ignores_padding(length, pad, factor, pool):
    generator = torch.Generator().manual_seed(length * 100 + pad)
    x = torch.randn(1, length, 3, generator=generator)
    garbage = torch.full((1, pad, 3), 1e3)  # padding content must never leak in
    padded = torch.cat([x, garbage], dim=1)
    fn = masked_avg_pool if pool == "avg" else masked_max_pool
    alone, alone_len = fn(x, torch.tensor([length]), factor)
    batched, batched_len = fn(padded, torch.tensor([length]), factor)
    assert alone_len.item() == batched_len.item() == -(-length // factor)
    n = alone_len.item()
    torch.testing.assert_close(batched[:, :n], alone[:, :n])
    # reference: plain pooling on the unpadded frames with ceil mode, partial windows over valid frames
    windows = [x[0, i : i + factor] for i in range(0, length, factor)]
    reduce = (lambda w: w.mean(0)) if pool == "avg" else (lambda w: w.amax(0))
    torch.testing.assert_close(alone[0, :n], torch.stack([reduce(w) for w in windows]))


def test_masked_max_over_time_skips_padding():
    x = torch.tensor([[[1.0], [5.0], [100.0]], [[-3.0], [-2.0], [-1.0]]])
    out = masked_max_over_time(x, torch.tensor([2, 3]))
    assert out.squeeze(1).tolist() == [5.0, -1.0]


def test_pool_lengths_is_ceil_division():
    assert pool_lengths(torch.tensor([1, 2, 3, 4, 5]), 2).tolist() == [1, 1, 2, 2, 3]
