"""Batches for the hybrid AM: fbank frames, aligned senones and the teachers' frame-wise posteriors.

A batch is a dict:

  utt_ids:   list[str]
  features:  (B, T, F) float32 log-mels, zero-padded;  lengths: (B,) frames
  senone:    (N,) int64 aligned senone of every real frame, utterance after utterance (N = lengths.sum()): the
             order of ``hidden[mask]`` for a (B, T) mask of real frames
  teacher/<unit>/probs: (N, K) float32 the LM's posterior rows expanded onto frames (K = top-k or the vocabulary)
  teacher/<unit>/ids:   (N, K) int64 the units of those rows (top-k caches only; absent for full rows)

The caches hold one row per segment of deduplicated frame labels (paper 001, Fig. 2); rows become frames only here,
when a batch is built, through ``crossdistill.kd.framewise.rearrange``. Rows stay top-k until the training step
scatters them into full distributions, so batches stay small however large the teacher's vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning.pytorch as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler, SequentialSampler

from crossdistill.kd.framewise import rearrange
from crossdistill.teachers.lm.posteriors import SplitPosteriors
from crossdistill.teachers.lm.training import EpochBucketBatchSampler
from crossdistill.train.asr.hybrid_inputs import HybridInputs

TEACHER_PREFIX = "teacher/"


def teacher_key(unit: str, field: str) -> str:
    """Batch key of a teacher field (``probs`` or ``ids``) of the LM over ``unit``."""
    return f"{TEACHER_PREFIX}{unit}/{field}"


class HybridSplitDataset(Dataset):
    """One item per aligned utterance of a split: features, senone labels and per-segment teacher rows."""

    def __init__(self, inputs: HybridInputs, role: str) -> None:
        split = inputs.splits[role]
        labels = inputs.frame_labels(role)
        self.utt_ids = [str(u) for u in labels.utt_ids]
        self.offsets = labels.offsets
        self.senones = torch.from_numpy(labels.labels["senone"].astype("int64"))
        self.features = inputs.features[split]
        self.teachers: dict[str, SplitPosteriors] = {
            unit: cache.split(split) for unit, cache in inputs.teachers.items()
        }

    def __len__(self) -> int:
        return len(self.utt_ids)

    def lengths(self) -> list[int]:
        return [int(n) for n in (self.offsets[1:] - self.offsets[:-1])]

    def frames(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, i: int) -> dict:
        utt_id = self.utt_ids[i]
        item = {
            "utt_id": utt_id,
            "features": torch.from_numpy(self.features.get(utt_id)),
            "senone": self.senones[self.offsets[i] : self.offsets[i + 1]],
        }
        for unit, posteriors in self.teachers.items():
            item[TEACHER_PREFIX + unit] = posteriors.utterance(i)
        return item


def collate_hybrid(items: Sequence[dict]) -> dict:
    """Pad features; concatenate frame labels; expand each teacher's segment rows onto the frames."""
    features = [item["features"] for item in items]
    batch: dict = {
        "utt_ids": [item["utt_id"] for item in items],
        "features": torch.nn.utils.rnn.pad_sequence(features, batch_first=True),
        "lengths": torch.tensor([f.shape[0] for f in features], dtype=torch.int64),
        "senone": torch.cat([item["senone"] for item in items]),
    }
    units = [key[len(TEACHER_PREFIX) :] for key in items[0] if key.startswith(TEACHER_PREFIX)]
    for unit in units:
        rows = [item[TEACHER_PREFIX + unit] for item in items]
        segment_lengths = torch.cat([row.segment_lengths for row in rows])
        batch[teacher_key(unit, "probs")] = rearrange(torch.cat([row.probs for row in rows]), segment_lengths)
        if rows[0].top_ids is not None:
            batch[teacher_key(unit, "ids")] = rearrange(torch.cat([row.top_ids for row in rows]), segment_lengths)
    return batch


def teacher_distributions(batch: dict, vocab_sizes: dict[str, int]) -> dict[str, Tensor]:
    """Every teacher's (N, V) frame-wise distribution: top-k rows scattered into full rows (zeros elsewhere)."""
    dense = {}
    for unit, vocab in vocab_sizes.items():
        probs = batch[teacher_key(unit, "probs")]
        ids = batch.get(teacher_key(unit, "ids"))
        if ids is None:
            dense[unit] = probs
        else:
            dense[unit] = probs.new_zeros((probs.shape[0], vocab)).scatter_(1, ids, probs)
    return dense


class HybridDataModule(pl.LightningDataModule):
    """Training batches (sharded across processes, length-bucketed, shuffled per epoch as a function of (seed,
    epoch)) and the whole dev and test sets on every process, so their frame accuracies are exact everywhere."""

    def __init__(self, inputs: HybridInputs, batch_size: int, eval_batch_size: int, bucket_factor: int, seed: int,
                 shuffle: bool = True, num_workers: int = 0) -> None:  # fmt: skip
        super().__init__()
        self.datasets = {role: HybridSplitDataset(inputs, role) for role in ("train", "dev", "test")}
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.bucket_factor, self.seed, self.shuffle, self.num_workers = bucket_factor, seed, shuffle, num_workers

    def _loader(self, dataset: HybridSplitDataset, sampler, batch_size: int, shuffle: bool) -> DataLoader:
        batches = EpochBucketBatchSampler(
            sampler,
            batch_size=batch_size,
            lengths=dataset.lengths(),
            bucket_factor=self.bucket_factor,
            shuffle=shuffle,
            seed=self.seed,
        )
        return DataLoader(
            dataset,
            batch_sampler=batches,
            collate_fn=collate_hybrid,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        dataset = self.datasets["train"]
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=self.shuffle, seed=self.seed)
        return self._loader(dataset, sampler, self.batch_size, self.shuffle)

    def val_dataloader(self) -> list[DataLoader]:
        return [self.eval_dataloader(role) for role in ("dev", "test")]

    def eval_dataloader(self, role: str) -> DataLoader:
        return self.eval_loader(self.datasets[role])

    def eval_loader(self, dataset: HybridSplitDataset) -> DataLoader:
        """Every item of ``dataset`` in order, in evaluation batches."""
        return self._loader(dataset, SequentialSampler(dataset), self.eval_batch_size, False)
