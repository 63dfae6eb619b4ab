"""Batches for the seq2seq model: fbank frames, decoder inputs and targets, and the LM's next-token distributions.

A batch is a dict:

  utt_ids:  list[str]
  features: (B, T, F) float32 log-mels, zero-padded;  lengths: (B,) frames
  inputs:   (B, L) decoder inputs ``<s> y_1 .. y_n`` (padded with ``</s>``, never read: see token_mask)
  targets:  (B, L) ``y_1 .. y_n </s>`` (padded with 0)
  token_mask: (B, L) True on real positions
  teacher:  (B, L, V) float32 the LM's distribution for every target position (row k: p(y_k | y_<k), the last row
            the end of the sentence; ``crossdistill.teachers.lm.transcripts``), zero rows in the padding; only when
            the run distils the LM
  frame_targets: (B, T') int64 the alignment's label (phone or senone) of every subsampled encoder frame
            (``subsample_frame_labels``), ``FRAME_PADDING`` beyond an utterance's length; only with the auxiliary
            frame loss (``frame_weight`` > 0)

The teacher rows come from the transcript cache (one computation per unique transcript), never from the LM during
training.
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, SequentialSampler

from crossdistill.data.asr.features import PackedFeatures
from crossdistill.data.asr.units.labels import FrameLabels
from crossdistill.students.asr.seq2seq.model import FRAME_PADDING, subsample_frame_labels
from crossdistill.teachers.lm.training import EpochBucketBatchSampler
from crossdistill.teachers.lm.transcripts import TranscriptCache


class TranscribedDataset(Dataset):
    """One item per utterance of a split: features, target tokens and (optionally) the teacher's rows and the
    subsampled frame labels of ``frame_unit`` (the units folder's labels of this split)."""

    def __init__(
        self,
        utt_ids: Sequence[str],
        features: PackedFeatures,
        tokens: dict[str, np.ndarray],
        teacher: TranscriptCache | None = None,
        frame_labels: FrameLabels | None = None,
        frame_unit: str | None = None,
    ) -> None:
        self.utt_ids = list(utt_ids)
        self.features, self.tokens, self.teacher = features, tokens, teacher
        self.frames = [int(features.offsets[i + 1] - features.offsets[i]) for i in map(features.index_of, utt_ids)]
        self.frame_targets = None
        if frame_labels is not None:
            if frame_unit is None:
                raise ValueError("frame labels need the unit they are read in (frame_unit)")
            self.frame_targets = self._frame_targets(frame_labels, frame_unit)

    def _frame_targets(self, labels: FrameLabels, unit: str) -> list[torch.Tensor]:
        position = labels.index()
        targets = []
        for utt_id, frames in zip(self.utt_ids, self.frames, strict=True):
            if utt_id not in position:
                raise ValueError(f"the units folder's frame labels have no utterance {utt_id}")
            values = labels.utterance(position[utt_id])[unit]
            if len(values) != frames:
                raise ValueError(f"{utt_id}: {len(values)} frame labels but {frames} feature frames")
            targets.append(subsample_frame_labels(torch.from_numpy(values.astype(np.int64))))
        return targets

    def __len__(self) -> int:
        return len(self.utt_ids)

    def lengths(self) -> list[int]:
        return list(self.frames)

    def __getitem__(self, i: int) -> dict:
        utt_id = self.utt_ids[i]
        item = {
            "utt_id": utt_id,
            "features": torch.from_numpy(self.features.get(utt_id)),
            "tokens": torch.from_numpy(self.tokens[utt_id]),
        }
        if self.teacher is not None:
            item["teacher"] = self.teacher.utterance(utt_id).dense()
        if self.frame_targets is not None:
            item["frame_targets"] = self.frame_targets[i]
        return item


class Seq2SeqCollator:
    """Pads a list of items into a batch (see the module docstring)."""

    def __init__(self, sos_id: int, eos_id: int) -> None:
        self.sos_id, self.eos_id = sos_id, eos_id

    def __call__(self, items: Sequence[dict]) -> dict:
        features = [item["features"] for item in items]
        lengths = [len(item["tokens"]) + 1 for item in items]
        batch_size, longest = len(items), max(lengths)
        inputs = torch.full((batch_size, longest), self.eos_id, dtype=torch.long)
        targets = torch.zeros((batch_size, longest), dtype=torch.long)
        for b, item in enumerate(items):
            n = len(item["tokens"])
            inputs[b, 0], inputs[b, 1 : n + 1] = self.sos_id, item["tokens"]
            targets[b, :n], targets[b, n] = item["tokens"], self.eos_id
        batch = {
            "utt_ids": [item["utt_id"] for item in items],
            "features": torch.nn.utils.rnn.pad_sequence(features, batch_first=True),
            "lengths": torch.tensor([f.shape[0] for f in features], dtype=torch.long),
            "inputs": inputs,
            "targets": targets,
            "token_mask": torch.arange(longest)[None, :] < torch.tensor(lengths)[:, None],
        }
        if "teacher" in items[0]:
            batch["teacher"] = torch.nn.utils.rnn.pad_sequence([item["teacher"] for item in items], batch_first=True)
        if "frame_targets" in items[0]:
            batch["frame_targets"] = torch.nn.utils.rnn.pad_sequence(
                [item["frame_targets"] for item in items], batch_first=True, padding_value=FRAME_PADDING
            )
        return batch


def bucketed_loader(
    dataset: TranscribedDataset,
    sampler,
    batch_size: int,
    bucket_factor: int,
    seed: int,
    shuffle: bool,
    collate: Seq2SeqCollator,
    num_workers: int = 0,
) -> DataLoader:
    """Length-bucketed batches; with a ``DistributedSampler`` the order is a function of (seed, epoch)."""
    batches = EpochBucketBatchSampler(
        sampler,
        batch_size=batch_size,
        lengths=dataset.lengths(),
        bucket_factor=bucket_factor,
        shuffle=shuffle,
        seed=seed,
    )
    return DataLoader(
        dataset, batch_sampler=batches, collate_fn=collate, num_workers=num_workers, persistent_workers=num_workers > 0
    )


def evaluation_loader(dataset: TranscribedDataset, batch_size: int, collate: Seq2SeqCollator) -> DataLoader:
    """Every utterance once, in length-sorted batches (the order of the results does not matter)."""
    return bucketed_loader(dataset, SequentialSampler(dataset), batch_size, 1 << 20, 0, False, collate)


class Seq2SeqDataModule(pl.LightningDataModule):
    """Training batches (sharded across processes, length-bucketed, shuffled per epoch as a function of (seed,
    epoch)) and the whole dev set on every process, so its scores are exact everywhere."""

    def __init__(
        self,
        datasets: dict[str, TranscribedDataset],
        collate: Seq2SeqCollator,
        batch_size: int,
        eval_batch_size: int,
        bucket_factor: int,
        seed: int,
        shuffle: bool = True,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.datasets, self.collate = datasets, collate
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.bucket_factor, self.seed, self.shuffle, self.num_workers = bucket_factor, seed, shuffle, num_workers

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        dataset = self.datasets["train"]
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=self.shuffle, seed=self.seed)
        return bucketed_loader(
            dataset,
            sampler,
            self.batch_size,
            self.bucket_factor,
            self.seed,
            self.shuffle,
            self.collate,
            self.num_workers,
        )

    def val_dataloader(self) -> DataLoader:
        return evaluation_loader(self.datasets["dev"], self.eval_batch_size, self.collate)
