import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.kd.framewise import deduplicate, densify_top_k, keep_top_k, rearrange, rearrange_padded

frame_label_lists = st.lists(st.integers(0, 5), min_size=0, max_size=60)


def _random_posteriors(rows: int, vocab: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(rows, vocab, generator=generator, dtype=torch.float64), dim=-1)


def test_deduplicate_hand_example():
    units, lengths = deduplicate(torch.tensor([3, 3, 3, 1, 1, 4, 3, 3]))
    assert units.tolist() == [3, 1, 4, 3]
    assert lengths.tolist() == [3, 2, 1, 2]


def test_rearrange_hand_example():
    rows = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]], dtype=torch.float64)
    frames = rearrange(rows, torch.tensor([2, 1, 3]))
    assert frames.tolist() == [[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]


@settings(max_examples=200, deadline=None)
@given(frame_label_lists)
def test_deduplicate_is_a_run_length_code(labels):
    x = torch.tensor(labels, dtype=torch.int64)
    units, lengths = deduplicate(x)
    assert units.shape == lengths.shape
    assert int(lengths.sum()) == len(labels)
    assert bool((lengths >= 1).all())
    assert bool((units[1:] != units[:-1]).all()), "adjacent units must differ after deduplication"
    assert torch.equal(torch.repeat_interleave(units, lengths), x)


@settings(max_examples=200, deadline=None)
@given(frame_label_lists, st.integers(0, 2**31 - 1))
def test_round_trip_frames_line_up_and_each_gets_its_segment_row(labels, seed):
    x = torch.tensor(labels, dtype=torch.int64)
    units, lengths = deduplicate(x)
    # One-hot rows of each position's unit: after rearrangement every frame must carry its own label.
    one_hot = torch.nn.functional.one_hot(units, 6).double()
    assert torch.equal(rearrange(one_hot, lengths).argmax(-1) if len(labels) else x, x)
    # Arbitrary distinct rows: frame t carries exactly the row of the segment whose span contains t.
    rows = _random_posteriors(len(units), 7, seed)
    frames = rearrange(rows, lengths)
    assert frames.shape == (len(labels), 7)
    ends = torch.cumsum(lengths, 0)
    for t in range(len(labels)):
        segment = int(torch.searchsorted(ends, t, right=True))
        assert torch.equal(frames[t], rows[segment])
        matches = [k for k in range(len(rows)) if torch.equal(frames[t], rows[k])]
        assert matches == [segment], "a frame must carry exactly one segment's distribution"
    assert torch.allclose(frames.sum(-1), torch.ones(len(labels), dtype=torch.float64))


@settings(max_examples=100, deadline=None)
@given(st.lists(frame_label_lists, min_size=1, max_size=4), st.integers(0, 2**31 - 1))
def test_padded_batch_equals_per_utterance_rearrangement(batch_labels, seed):
    vocab = 5
    per_utterance = [deduplicate(torch.tensor(labels, dtype=torch.int64)) for labels in batch_labels]
    rows = [_random_posteriors(len(units), vocab, seed + i) for i, (units, _) in enumerate(per_utterance)]
    s_max = max(len(units) for units, _ in per_utterance)
    padded_rows = torch.zeros(len(rows), s_max, vocab, dtype=torch.float64)
    padded_lengths = torch.zeros(len(rows), s_max, dtype=torch.int64)
    for b, ((_, lengths), r) in enumerate(zip(per_utterance, rows, strict=True)):
        padded_rows[b, : len(r)] = r
        padded_lengths[b, : len(lengths)] = lengths
    frames, mask = rearrange_padded(padded_rows, padded_lengths)
    assert frames.shape[:2] == mask.shape
    assert frames.shape[1] == max(len(labels) for labels in batch_labels)
    for b, labels in enumerate(batch_labels):
        expected = rearrange(rows[b], per_utterance[b][1])
        assert mask[b].sum() == len(labels)
        assert torch.equal(frames[b, : len(labels)], expected)
        assert bool((frames[b, len(labels) :] == 0).all())
        assert torch.allclose(frames[b][mask[b]].sum(-1), torch.ones(len(labels), dtype=torch.float64))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(2, 12), st.data())
def test_top_k_renormalizes_and_densifies_back(rows, vocab, data):
    k = data.draw(st.integers(1, vocab))
    probs = _random_posteriors(rows, vocab, data.draw(st.integers(0, 1000)))
    ids, kept = keep_top_k(probs, k)
    assert ids.shape == kept.shape == (rows, k)
    assert torch.allclose(kept.sum(-1), torch.ones(rows, dtype=torch.float64))
    # The kept ids are the k largest entries, in decreasing order, and keep their relative sizes.
    assert torch.equal(torch.gather(probs, -1, ids).argsort(-1, descending=True), torch.arange(k).expand(rows, k))
    for r in range(rows):
        rest = probs[r][~torch.isin(torch.arange(vocab), ids[r])]
        if rest.numel():
            assert probs[r, ids[r]].min() >= rest.max()
    dense = densify_top_k(ids, kept, vocab)
    assert torch.allclose(dense.sum(-1), torch.ones(rows, dtype=torch.float64))
    if k == vocab:
        assert torch.allclose(dense, probs)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="integer unit ids"):
        deduplicate(torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="1-D"):
        deduplicate(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="2 entries but there are 3"):
        rearrange(torch.ones(3, 2), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match=">= 1"):
        rearrange(torch.ones(2, 2), torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="top-k"):
        keep_top_k(torch.ones(2, 3) / 3, 4)
    with pytest.raises(ValueError, match="must lie in"):
        densify_top_k(torch.tensor([[3]]), torch.tensor([[1.0]]), 3)
    with pytest.raises(ValueError, match="segment_lengths must have shape"):
        rearrange_padded(torch.ones(2, 3, 4), torch.ones(2, 2, dtype=torch.long))
