"""Data for acoustic pre-training: the data layer's utterances with frame-wise targets at the model's rates.

Targets. The acoustic module classifies phonemes once per phoneme-rate frame (40 ms in every preset) and
words once per word-rate frame (160 ms). Each target frame ``j`` gets the label of the alignment segment
that contains its centre, ``(j + 0.5) * frame_shift`` (``crossdistill.data.alignments.frame_labels``),
computed directly at that rate from the alignment times rather than by subsampling 10 ms labels.
That centre is where the model's frame actually sits: with average-pool downsampling a phoneme frame
averages four 10 ms frames whose centres lie at ``(4j + 0.5 .. 4j + 3.5) * 10 ms``, i.e. around
``(j + 0.5) * 40 ms``. (SincNet's first frames are centred at ``k * 5 ms``, so its frames sit 2.5 ms early;
Lugosch's code labelled each frame by the sample at its start, ~20 ms early.) Frames in gaps between
segments (silence, pauses) and words outside the vocabulary get -100 and are ignored by the loss, as
Lugosch ignores silence and out-of-vocabulary words. The number of target frames is the module's own
output length for the utterance, so targets and logits always line up.

Vocabularies: phonemes from the corpus inventory (``data/phonemes.json``), words from the training
split's transcriptions (``crossdistill.data.loading.word_vocabulary``, sorted).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import lightning.pytorch as pl
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from crossdistill.data.alignments import frame_labels, load_alignments, load_phoneme_inventory
from crossdistill.data.corpus import Corpus
from crossdistill.data.loading import (
    SpeechDataset,
    build_bucketed_loader,
    speech_datasets,
    split_features,
    word_vocabulary,
)
from crossdistill.train.acoustic_inputs import feature_config_for

# (input lengths (B,)) -> (phoneme-rate lengths (B,), word-rate lengths (B,)): AcousticModule.output_lengths
LengthFn = Callable[[Tensor], tuple[Tensor, Tensor]]


class MissingAlignmentsError(ValueError):
    """The corpus has no alignments, so frame-wise pre-training targets cannot be made."""


def require_alignments(corpus: Corpus) -> None:
    """Raise :class:`MissingAlignmentsError` saying what needs alignments and what to do instead."""
    if corpus.has_alignments():
        return
    raise MissingAlignmentsError(
        f"corpus {corpus.root} has no word/phoneme alignments (data/<split>_alignments.jsonl). "
        "Acoustic pre-training (`crossdistill pretrain`) trains on frame-wise phoneme and word targets "
        "made from them. Either pre-train on a corpus that has them (the synthetic one: "
        "`crossdistill data synth --out DIR`, then `crossdistill pretrain --corpus DIR --out ACOUSTIC`) and "
        "train on this corpus with that pre-trained module (`crossdistill train ... acoustic=ACOUSTIC`), "
        "or write alignments from a forced aligner in the sidecar format (see docs/data.md)."
    )


def build_vocabularies(corpus: Corpus) -> tuple[list[str], list[str]]:
    """Return ``(phonemes, words)``: the target classes, in id order."""
    return load_phoneme_inventory(corpus), word_vocabulary(corpus)


class FrameTargetDataset(Dataset):
    """A split's utterances (waveform or log-mels) with phoneme and word targets at the module's rates.

    Items are the data layer's items (so ``collate_speech`` pads them) with ``phoneme_targets`` ``(Tp,)``
    and ``word_targets`` ``(Tw,)`` where ``Tp, Tw = length_fn(input length)``.
    """

    def __init__(
        self,
        speech: SpeechDataset,
        alignments: dict,
        phoneme_vocab: dict[str, int],
        word_vocab: dict[str, int],
        length_fn: LengthFn,
        shifts: tuple[float, float],
        indices: list[int] | None = None,
    ) -> None:
        self.speech = speech
        self.alignments = alignments
        self.phoneme_vocab = phoneme_vocab
        self.word_vocab = word_vocab
        self.length_fn = length_fn
        self.phoneme_shift, self.word_shift = shifts
        self.indices = list(range(len(speech))) if indices is None else list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def lengths(self) -> list[int]:
        """Approximate item lengths for length bucketing (no audio is read)."""
        all_lengths = self.speech.lengths()
        return [all_lengths[i] for i in self.indices]

    def __getitem__(self, i: int) -> dict:
        item = self.speech[self.indices[i]]
        inputs = item["features"] if "features" in item else item["waveform"]
        n_phoneme, n_word = (int(n) for n in self.length_fn(torch.tensor([inputs.shape[0]])))
        alignment = self.alignments[item["utt_id"]]
        unknown = sorted({s.label for s in alignment.phonemes} - set(self.phoneme_vocab))
        if unknown:
            raise ValueError(f"utterance {item['utt_id']}: phonemes {unknown} are not in the corpus inventory")
        item["phoneme_targets"] = frame_labels(alignment.phonemes, n_phoneme, self.phoneme_shift, self.phoneme_vocab)
        words = [w for w in alignment.words if w.label in self.word_vocab]
        item["word_targets"] = frame_labels(words, n_word, self.word_shift, self.word_vocab)
        return item


def subset_indices(n: int, limit: int | None, seed: int) -> list[int] | None:
    """Return a seeded random subset of ``range(n)`` of size ``limit`` (in order), or None for all."""
    if limit is None or limit >= n:
        return None
    if limit < 1:
        raise ValueError(f"--max-utterances must be at least 1, got {limit}")
    chosen = np.random.default_rng(seed).choice(n, size=limit, replace=False)
    return sorted(int(i) for i in chosen)


class PretrainDataModule(pl.LightningDataModule):
    """Train/valid/test loaders of :class:`FrameTargetDataset`, length-bucketed like the data layer's.

    Args:
      corpus: a loaded corpus with alignments.
      acoustic_config: the module's config (picks waveform or log-mels).
      length_fn, shifts: the module's ``output_lengths`` and (phoneme, word) frame shifts in seconds.
      phonemes, words: target classes in id order.
      batch_size, seed, num_workers: loading.
      max_utterances: use at most this many utterances per split (a seeded random subset).
      cache_dir: feature cache root for log-mels (the data layer's default when None).
    """

    def __init__(
        self,
        corpus: Corpus,
        acoustic_config,
        length_fn: LengthFn,
        shifts: tuple[float, float],
        phonemes: list[str],
        words: list[str],
        batch_size: int = 16,
        seed: int = 0,
        num_workers: int = 0,
        max_utterances: int | None = None,
        cache_dir: str | os.PathLike | None = None,
        progress: bool = True,
    ) -> None:
        super().__init__()
        require_alignments(corpus)
        self.corpus = corpus
        self.feature_config = feature_config_for(acoustic_config)
        self.length_fn = length_fn
        self.shifts = shifts
        self.phoneme_vocab = {p: i for i, p in enumerate(phonemes)}
        self.word_vocab = {w: i for i, w in enumerate(words)}
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers
        self.max_utterances = max_utterances
        self.cache_dir = cache_dir
        self.progress = progress
        self.datasets: dict[str, FrameTargetDataset] = {}

    def prepare_data(self) -> None:
        split_features(self.corpus, self.feature_config, self.cache_dir, self.progress)

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        speech_splits = speech_datasets(self.corpus, self.feature_config, self.cache_dir, self.progress)
        for offset, split in enumerate(("train", "valid", "test")):
            speech = speech_splits[split]
            self.datasets[split] = FrameTargetDataset(
                speech,
                load_alignments(self.corpus, split),
                self.phoneme_vocab,
                self.word_vocab,
                self.length_fn,
                self.shifts,
                subset_indices(len(speech), self.max_utterances, self.seed + offset),
            )

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        self.setup()
        dataset = self.datasets[split]
        # A one-replica DistributedSampler reshuffles from (seed, epoch) alone (Lightning calls set_epoch
        # through the batch sampler), so a resumed run sees the same batches as an uninterrupted one.
        inner = DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=shuffle, seed=self.seed)
        return build_bucketed_loader(dataset, inner, self.batch_size, shuffle, self.seed, self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
