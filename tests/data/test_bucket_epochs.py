"""The bucketing sampler's batch order changes with the epoch Lightning sets, and only with it.

Lightning calls ``set_epoch`` on a loader's ``sampler`` and on its ``batch_sampler.sampler``, never on the batch
sampler itself (``lightning.fabric.utilities.data._set_sampler_epoch``), so the bucketing sampler must take the epoch
from its inner sampler: otherwise every epoch orders its batches as epoch 0 did, and a dataset that fits one pool
sees the very same batches in the very same order every epoch.
"""

from __future__ import annotations

import torch
from lightning.fabric.utilities.data import _set_sampler_epoch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from crossdistill.data.loading import LengthBucketBatchSampler

LENGTHS = list(range(10, 50))  # distinct lengths: one pool always sorts into the same batches


def _epochs(inner, n_epochs: int = 3, bucket_factor: int = 100) -> list[list[list[int]]]:
    batches = LengthBucketBatchSampler(inner, 4, False, LENGTHS, bucket_factor=bucket_factor, shuffle=True, seed=5)
    loader = DataLoader(range(len(LENGTHS)), batch_sampler=batches, collate_fn=list)
    orders = []
    for epoch in range(n_epochs):
        _set_sampler_epoch(loader, epoch)  # what Lightning's fit loop does before each training epoch
        orders.append([list(b) for b in loader])
    return orders


def _distributed():
    return DistributedSampler(range(len(LENGTHS)), num_replicas=1, rank=0, shuffle=True, seed=5)


def test_batch_order_changes_with_the_epoch_lightning_sets():
    orders = _epochs(_distributed())
    assert orders[0] != orders[1] and orders[1] != orders[2] and orders[0] != orders[2]
    for order in orders:  # the same batches (one pool), each index once
        assert sorted(i for b in order for i in b) == list(range(len(LENGTHS)))


def test_batch_order_is_a_function_of_seed_and_epoch_alone():
    # A resumed run builds a new loader and starts at a later epoch: it must see what the uninterrupted run saw.
    uninterrupted = _epochs(_distributed(), n_epochs=3)
    batches = LengthBucketBatchSampler(_distributed(), 4, False, LENGTHS, bucket_factor=100, shuffle=True, seed=5)
    loader = DataLoader(range(len(LENGTHS)), batch_sampler=batches, collate_fn=list)
    _set_sampler_epoch(loader, 2)
    assert [list(b) for b in loader] == uninterrupted[2]


def test_an_inner_sampler_without_epochs_still_reorders_batches():
    # A RandomSampler draws a new index order each epoch; the batch order follows it (and is seeded by it).
    orders = _epochs(RandomSampler(range(len(LENGTHS)), generator=torch.Generator().manual_seed(0)))
    assert orders[0] != orders[1]
    again = _epochs(RandomSampler(range(len(LENGTHS)), generator=torch.Generator().manual_seed(0)))
    assert again == orders
