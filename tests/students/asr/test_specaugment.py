"""SpecAugment on padded batches: masks only (no warping), inside each utterance, reproducible from the seed."""

from __future__ import annotations

import random

import torch

from crossdistill.students.asr import BatchSpecAugment, SpecAugmentConfig


def seeded(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)


def test_masks_stay_inside_each_utterance_and_frames_stay_in_place():
    features = torch.randn(3, 120, 80) + 4
    lengths = torch.tensor([120, 70, 30])
    augment = BatchSpecAugment(SpecAugmentConfig(p=1.0))
    seeded(0)
    out = augment(features, lengths)
    changed_any = False
    for i, length in enumerate(lengths.tolist()):
        assert torch.equal(out[i, length:], features[i, length:])  # padding untouched
        real, original = out[i, :length], features[i, :length]
        changed = real != original
        changed_any |= bool(changed.any())
        # A changed value is the utterance's mean (a mask), never a moved frame: warping is off.
        assert torch.allclose(real[changed], original.mean().expand(int(changed.sum())), atol=1e-5)
        # Time masks cover at most 15 % of the utterance's frames.
        assert changed.all(dim=1).sum() <= int(0.15 * length) + 1
    assert changed_any


def test_the_same_seed_gives_the_same_masks_and_disabled_means_identity():
    features, lengths = torch.randn(2, 50, 80), torch.tensor([50, 40])
    augment = BatchSpecAugment(SpecAugmentConfig(p=1.0))
    seeded(3)
    first = augment(features, lengths)
    seeded(3)
    assert torch.equal(first, augment(features, lengths))
    seeded(4)
    assert not torch.equal(first, augment(features, lengths))
    assert BatchSpecAugment(SpecAugmentConfig(enabled=False))(features, lengths) is features
