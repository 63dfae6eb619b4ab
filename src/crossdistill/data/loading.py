"""PyTorch Dataset, collation, length-bucketed batching and a Lightning DataModule for FSC-layout corpora.

Every batch is a dict:

  utt_id:   list[str]
  features: (B, T, F) float32 log-mels, zero-padded       (``FeatureConfig.kind == "logmel"``)
  waveform: (B, S) float32 samples, zero-padded            (``kind == "waveform"``)
  lengths:  (B,) valid frames (log-mel) or samples (waveform)
  mask:     (B, T) bool, True on valid positions (T = S for the waveform)
  intent:   (B,) intent ids;  slots: (B, 3) action/object/location ids (``corpus.labels``)
  phoneme_targets, word_targets: (B, T10) frame-wise ids on 10 ms frames, -100 where no segment or padding
      (only with ``frame_targets=True``; need the alignment sidecars; T10 = T for log-mels, S // 160 for
      the waveform)

Batches group utterances of similar length (``LengthBucketBatchSampler``), which cuts padding. Under DDP
the bucketing sampler draws its indices from an inner ``sampler`` argument: Lightning's default
``use_distributed_sampler=True`` re-instantiates it around a ``DistributedSampler`` (the class subclasses
``BatchSampler``, whose constructor arguments Lightning records), so every rank gets its own shard and,
because all shards have the same size, the same number of batches. The DataModule can also be given
``num_replicas``/``rank`` itself when Lightning's replacement is turned off.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler
from torch.utils.data.distributed import DistributedSampler

from crossdistill.data.alignments import (
    frame_labels,
    load_alignments,
    load_phoneme_inventory,
    transcription_words,
)
from crossdistill.data.audio import read_audio
from crossdistill.data.corpus import Corpus, load_corpus
from crossdistill.data.features import FeatureConfig, FeatureSplit, load_or_compute_features, num_frames

IGNORE_INDEX = -100


def word_vocabulary(corpus: Corpus) -> list[str]:
    """Return the training split's words (as alignments label them), sorted: the word-target classes."""
    return sorted({w for u in corpus.splits["train"] for w in transcription_words(u.transcription)})


class SpeechDataset(Dataset):
    """One item per utterance of ``split``: its features or waveform, labels and optional frame targets.

    Args:
      corpus: a loaded corpus.
      split: ``train``, ``valid`` or ``test``.
      config: what to read (log-mel features or the waveform).
      features: the split's cached log-mels (``load_or_compute_features``); required for ``logmel``.
      frame_targets: add frame-wise phoneme and word targets from the alignment sidecar.
      phoneme_vocab, word_vocab: label -> id for those targets (default: the corpus's phoneme inventory
        and ``word_vocabulary``). Words outside ``word_vocab`` get -100.
    """

    def __init__(
        self,
        corpus: Corpus,
        split: str,
        config: FeatureConfig,
        features: FeatureSplit | None = None,
        frame_targets: bool = False,
        phoneme_vocab: dict[str, int] | None = None,
        word_vocab: dict[str, int] | None = None,
    ) -> None:
        if split not in corpus.splits:
            raise ValueError(f"unknown split {split!r}; the corpus has {list(corpus.splits)}")
        self.utterances = corpus.splits[split]
        self.config = config
        if config.kind == "logmel":
            if features is None:
                raise ValueError("log-mel datasets need the split's cached features (load_or_compute_features)")
            if features.utt_ids != [u.utt_id for u in self.utterances]:
                raise ValueError(f"the feature cache of split {split!r} does not list the corpus's utterances")
        self.features = features
        labels = corpus.labels
        self.intent = torch.tensor([labels.encode_intent(u) for u in self.utterances], dtype=torch.long)
        self.slots = torch.tensor([labels.encode_slots(u) for u in self.utterances], dtype=torch.long).view(-1, 3)
        self.alignments = None
        if frame_targets:
            self.alignments = load_alignments(corpus, split)
            self.phoneme_vocab = phoneme_vocab or {p: i for i, p in enumerate(load_phoneme_inventory(corpus))}
            self.word_vocab = word_vocab or {w: i for i, w in enumerate(word_vocabulary(corpus))}
        self._lengths: list[int] | None = None

    def __len__(self) -> int:
        return len(self.utterances)

    def lengths(self) -> list[int]:
        """Return each item's length (frames or samples) without loading audio; used for bucketing."""
        if self._lengths is None:
            if self.features is not None:
                self._lengths = [int(n) for n in self.features.lengths]
            else:
                # PCM16 WAV: the data size is (file size - 44-byte header) / 2; bucketing only needs ordering.
                self._lengths = [max(0, (u.audio_path.stat().st_size - 44) // 2) for u in self.utterances]
        return self._lengths

    def __getitem__(self, i: int) -> dict:
        utt = self.utterances[i]
        item: dict = {"utt_id": utt.utt_id, "intent": self.intent[i], "slots": self.slots[i]}
        if self.config.kind == "logmel":
            item["features"] = self.features.get(i)
            n_target_frames = item["features"].shape[0]
        else:
            item["waveform"] = torch.from_numpy(read_audio(utt.audio_path, self.config.sample_rate))
            n_target_frames = num_frames(item["waveform"].shape[0], self.config)
        if self.alignments is not None:
            alignment = self.alignments[utt.utt_id]
            shift = self.config.hop_length_s
            item["phoneme_targets"] = frame_labels(alignment.phonemes, n_target_frames, shift, self.phoneme_vocab)
            words = [w for w in alignment.words if w.label in self.word_vocab]
            item["word_targets"] = frame_labels(words, n_target_frames, shift, self.word_vocab)
        return item


def split_features(
    corpus: Corpus, config: FeatureConfig, cache_dir: str | os.PathLike | None = None, progress: bool = True
) -> dict[str, FeatureSplit]:
    """Every split's cached log-mels (computed on first use); ``{}`` when ``config`` reads the waveform."""
    if config.kind != "logmel":
        return {}
    return load_or_compute_features(corpus, config, cache_dir, progress)


def speech_datasets(
    corpus: Corpus,
    config: FeatureConfig,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    frame_targets: bool = False,
) -> dict[str, SpeechDataset]:
    """One :class:`SpeechDataset` per split of ``corpus``, over the feature cache for log-mels."""
    features = split_features(corpus, config, cache_dir, progress)
    return {split: SpeechDataset(corpus, split, config, features.get(split), frame_targets) for split in corpus.splits}


def collate_speech(items: Sequence[dict]) -> dict:
    """Pad a list of ``SpeechDataset`` items into one batch dict (see the module docstring)."""
    batch: dict = {"utt_id": [item["utt_id"] for item in items]}
    key = "features" if "features" in items[0] else "waveform"
    sequences = [item[key] for item in items]
    lengths = torch.tensor([s.shape[0] for s in sequences], dtype=torch.long)
    batch[key] = torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True)
    batch["lengths"] = lengths
    batch["mask"] = torch.arange(batch[key].shape[1])[None, :] < lengths[:, None]
    batch["intent"] = torch.stack([item["intent"] for item in items])
    batch["slots"] = torch.stack([item["slots"] for item in items])
    for target in ("phoneme_targets", "word_targets"):
        if target in items[0]:
            batch[target] = torch.nn.utils.rnn.pad_sequence(
                [item[target] for item in items], batch_first=True, padding_value=IGNORE_INDEX
            )
    return batch


class LengthBucketBatchSampler(BatchSampler):
    """Batches of similar-length items drawn from an inner sampler's index stream.

    The indices from ``sampler`` (random, sequential or a ``DistributedSampler`` shard) are cut into pools
    of ``batch_size * bucket_factor``; each pool is sorted by length and cut into batches, and with
    ``shuffle`` the batches of a pool are shuffled, seeded by ``seed``, the epoch and the inner sampler's index
    order. The randomness of *which* items share a pool comes from the inner sampler.

    The epoch is the inner sampler's when it has one: Lightning calls ``set_epoch`` on a batch sampler's inner
    sampler only, never on the batch sampler, so an epoch kept here alone would stay 0 and every epoch would order
    its batches alike (a dataset within one pool would see the same batches in the same order every epoch). It is
    read when iteration starts (``__iter__`` is a generator), after Lightning's ``set_epoch``. With a
    ``DistributedSampler`` inside, the order is a function of (seed, epoch) alone, so a resumed run sees the batches
    of an uninterrupted one.
    """

    def __init__(
        self,
        sampler: Sampler[int] | Sequence[int],
        batch_size: int,
        drop_last: bool = False,
        lengths: Sequence[int] = (),
        bucket_factor: int = 50,
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(sampler, batch_size, drop_last)
        if not lengths:
            raise ValueError("LengthBucketBatchSampler needs the items' lengths")
        if bucket_factor < 1:
            raise ValueError(f"bucket_factor must be at least 1, got {bucket_factor}")
        self.lengths = list(lengths)
        self.bucket_factor = bucket_factor
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Change the batch order for a new epoch (and forward it to a distributed inner sampler)."""
        self.epoch = epoch
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        self.epoch = getattr(self.sampler, "epoch", self.epoch)
        indices = list(iter(self.sampler))
        # The index order joins the seed: an inner sampler without epochs (a RandomSampler) still reorders batches.
        order_digest = zlib.crc32(np.asarray(indices, dtype=np.int64).tobytes())
        rng = np.random.default_rng([self.seed, self.epoch, order_digest])
        pool_size = self.batch_size * self.bucket_factor
        for start in range(0, len(indices), pool_size):
            pool = sorted(indices[start : start + pool_size], key=lambda i: self.lengths[i])
            batches = [pool[k : k + self.batch_size] for k in range(0, len(pool), self.batch_size)]
            if self.drop_last and batches and len(batches[-1]) < self.batch_size:
                batches.pop()
            order = rng.permutation(len(batches)) if self.shuffle else range(len(batches))
            for b in order:
                yield batches[b]

    def __len__(self) -> int:
        n = len(self.sampler)
        pool_size = self.batch_size * self.bucket_factor
        full_pools, rest = divmod(n, pool_size)
        per_pool = self.bucket_factor
        if self.drop_last:
            return full_pools * per_pool + rest // self.batch_size
        return full_pools * per_pool + -(-rest // self.batch_size)


def build_bucketed_loader(
    dataset,
    sampler: Sampler[int],
    batch_size: int,
    shuffle: bool,
    seed: int,
    num_workers: int = 0,
    bucket_factor: int = 50,
) -> DataLoader:
    """A DataLoader of length-bucketed batches drawn from ``sampler`` (``dataset`` needs ``lengths()``)."""
    batches = LengthBucketBatchSampler(
        sampler,
        batch_size=batch_size,
        drop_last=False,
        lengths=dataset.lengths(),
        bucket_factor=bucket_factor,
        shuffle=shuffle,
        seed=seed,
    )
    return DataLoader(
        dataset,
        batch_sampler=batches,
        collate_fn=collate_speech,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )


class SpeechDataModule(pl.LightningDataModule):
    """Train/valid/test loaders over one FSC-layout corpus (real or synthetic).

    Args:
      corpus: a ``Corpus`` or its root folder.
      feature_config: log-mel or waveform (``FeatureConfig``).
      batch_size: utterances per batch.
      cache_dir: feature cache root (default ``$CROSSDISTILL_CACHE`` or ``~/.cache/crossdistill``).
      frame_targets: add frame-wise phoneme/word targets (needs alignments).
      num_workers: DataLoader workers.
      bucket_factor: batches per length-sorting pool (1 = no bucketing beyond a batch).
      seed: shuffling seed.
      num_replicas, rank: shard the data yourself (only with ``Trainer(use_distributed_sampler=False)``).
    """

    def __init__(
        self,
        corpus: Corpus | str | os.PathLike,
        feature_config: FeatureConfig | None = None,
        batch_size: int = 16,
        cache_dir: str | os.PathLike | None = None,
        frame_targets: bool = False,
        num_workers: int = 0,
        bucket_factor: int = 50,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        progress: bool = True,
    ) -> None:
        super().__init__()
        self._corpus = corpus if isinstance(corpus, Corpus) else None
        self.corpus_root = Path(corpus.root if isinstance(corpus, Corpus) else corpus)
        self.feature_config = feature_config or FeatureConfig()
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.frame_targets = frame_targets
        self.num_workers = num_workers
        self.bucket_factor = bucket_factor
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.progress = progress
        self.datasets: dict[str, SpeechDataset] = {}

    @property
    def corpus(self) -> Corpus:
        """The corpus (loaded and validated on first use)."""
        if self._corpus is None:
            self._corpus = load_corpus(self.corpus_root)
        return self._corpus

    def prepare_data(self) -> None:
        """Compute the feature cache once (Lightning calls this on one process per node)."""
        split_features(self.corpus, self.feature_config, self.cache_dir, self.progress)

    def setup(self, stage: str | None = None) -> None:
        """Build the three datasets (reading the cache that ``prepare_data`` wrote)."""
        if not self.datasets:
            self.datasets = speech_datasets(
                self.corpus, self.feature_config, self.cache_dir, self.progress, self.frame_targets
            )

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        self.setup()
        dataset = self.datasets[split]
        if self.num_replicas is not None:
            inner: Sampler[int] = DistributedSampler(
                dataset, num_replicas=self.num_replicas, rank=self.rank or 0, shuffle=shuffle, seed=self.seed
            )
        elif shuffle:
            inner = RandomSampler(dataset, generator=torch.Generator().manual_seed(self.seed))
        else:
            inner = SequentialSampler(dataset)
        return build_bucketed_loader(
            dataset, inner, self.batch_size, shuffle, self.seed, self.num_workers, self.bucket_factor
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


def batch_lengths_to_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """Return a ``(B, T)`` bool mask that is True on the first ``lengths[b]`` positions of row ``b``."""
    max_len = int(lengths.max()) if max_len is None else max_len
    return torch.arange(max_len)[None, :] < lengths[:, None]
