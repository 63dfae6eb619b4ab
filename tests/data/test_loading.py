"""Dataset, collation, length-bucketed batching (incl. DDP shards) and the DataModule."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import SequentialSampler
from torch.utils.data.distributed import DistributedSampler

from crossdistill.data.alignments import transcription_words
from crossdistill.data.corpus import load_corpus
from crossdistill.data.features import FeatureConfig
from crossdistill.data.loading import LengthBucketBatchSampler, SpeechDataModule, word_vocabulary


def _check_batch(batch, key, corpus):
    b = len(batch["utt_id"])
    x = batch[key]
    assert x.shape[0] == b and batch["lengths"].shape == (b,)
    assert batch["mask"].shape == x.shape[:2] and batch["mask"].dtype == torch.bool
    assert torch.equal(batch["mask"].sum(1), batch["lengths"])
    assert int(batch["lengths"].max()) == x.shape[1]
    for row, n in enumerate(batch["lengths"].tolist()):
        assert torch.all(x[row, n:] == 0)
    assert batch["intent"].shape == (b,) and batch["slots"].shape == (b, 3)
    by_id = {u.utt_id: u for u in corpus.utterances()}
    for utt_id, intent, slots in zip(batch["utt_id"], batch["intent"], batch["slots"], strict=True):
        utt = by_id[utt_id]
        assert corpus.labels.intents[int(intent)] == utt.intent
        assert tuple(slots.tolist()) == corpus.labels.encode_slots(utt)


def test_logmel_datamodule_batches(tiny_corpus, tmp_path):
    dm = SpeechDataModule(tiny_corpus, FeatureConfig(n_mels=40), batch_size=5, cache_dir=tmp_path, progress=False)
    dm.prepare_data()
    dm.setup("fit")
    corpus = load_corpus(tiny_corpus)
    seen = []
    for batch in dm.train_dataloader():
        _check_batch(batch, "features", corpus)
        assert batch["features"].shape[2] == 40
        seen += batch["utt_id"]
    assert sorted(seen) == sorted(u.utt_id for u in corpus.splits["train"])
    valid = [u for batch in dm.val_dataloader() for u in batch["utt_id"]]
    assert sorted(valid) == sorted(u.utt_id for u in corpus.splits["valid"])


def test_waveform_batches_with_frame_targets(tiny_corpus):
    dm = SpeechDataModule(tiny_corpus, FeatureConfig(kind="waveform"), batch_size=3, frame_targets=True)
    corpus = load_corpus(tiny_corpus)
    batch = next(iter(dm.test_dataloader()))
    _check_batch(batch, "waveform", corpus)
    n10 = batch["lengths"] // 160
    words = word_vocabulary(corpus)
    assert words == sorted(words) and len(words) > 10
    by_id = {u.utt_id: u for u in corpus.utterances()}
    for target in ("phoneme_targets", "word_targets"):
        assert batch[target].shape == (3, int(n10.max()))
        for row, n in enumerate(n10.tolist()):
            assert torch.all(batch[target][row, n:] == -100)
            labelled = (batch[target][row, :n] >= 0).any()
            if target == "word_targets":  # test words outside the training vocabulary stay -100
                in_vocab = set(transcription_words(by_id[batch["utt_id"][row]].transcription)) & set(words)
                assert bool(labelled) == bool(in_vocab)
            else:
                assert labelled


def test_logmel_frame_targets_match_feature_frames(tiny_corpus, tmp_path):
    dm = SpeechDataModule(tiny_corpus, batch_size=4, cache_dir=tmp_path, frame_targets=True, progress=False)
    batch = next(iter(dm.train_dataloader()))
    assert batch["phoneme_targets"].shape == batch["features"].shape[:2]
    assert torch.all(batch["phoneme_targets"][~batch["mask"]] == -100)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 500), min_size=1, max_size=80),
    st.integers(1, 9),
    st.integers(1, 4),
    st.booleans(),
)
def test_bucket_sampler_yields_every_index_once(lengths, batch_size, bucket_factor, shuffle):
    sampler = LengthBucketBatchSampler(
        SequentialSampler(range(len(lengths))), batch_size, False, lengths, bucket_factor, shuffle, seed=3
    )
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    pool = batch_size * bucket_factor
    for b in batches:  # batches never mix pools, and are length-sorted within them
        assert len({i // pool for i in b}) == 1
        assert [lengths[i] for i in b] == sorted(lengths[i] for i in b)


def test_bucketing_reduces_padding():
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(50, 400, (400,), generator=generator).tolist()
    order = torch.randperm(400, generator=generator).tolist()

    def padding(batches):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)

    plain = [order[k : k + 16] for k in range(0, 400, 16)]
    bucketed = list(LengthBucketBatchSampler(order, 16, False, lengths, bucket_factor=25))
    assert padding(bucketed) < 0.2 * padding(plain)


def test_ddp_shards_are_disjoint_with_equal_batch_counts():
    lengths = list(range(1, 104))
    shards = []
    for rank in range(3):
        inner = DistributedSampler(range(len(lengths)), num_replicas=3, rank=rank, shuffle=True, seed=1)
        sampler = LengthBucketBatchSampler(inner, 4, False, lengths, bucket_factor=3, shuffle=True)
        sampler.set_epoch(2)
        assert inner.epoch == 2
        shards.append(list(sampler))
    assert len({len(s) for s in shards}) == 1
    indices = [i for s in shards for b in s for i in b]
    assert set(indices) == set(range(len(lengths)))  # DistributedSampler pads by repeating a few


def test_lightning_rewraps_the_bucket_sampler_around_a_distributed_sampler(tiny_corpus, tmp_path):
    """What Lightning does under DDP with ``use_distributed_sampler=True``."""
    from lightning.fabric.utilities.data import _replace_dunder_methods
    from lightning.pytorch.utilities.data import _update_dataloader
    from torch.utils.data import BatchSampler, DataLoader

    dm = SpeechDataModule(tiny_corpus, batch_size=3, cache_dir=tmp_path, progress=False)
    with _replace_dunder_methods(DataLoader, "dataset"), _replace_dunder_methods(BatchSampler):
        loader = dm.train_dataloader()
    ids = []
    for rank in range(2):
        sampler = DistributedSampler(loader.dataset, num_replicas=2, rank=rank, shuffle=True)
        rewrapped = _update_dataloader(loader, sampler)
        assert isinstance(rewrapped.batch_sampler, LengthBucketBatchSampler)
        assert rewrapped.batch_sampler.sampler is sampler
        ids.append([u for batch in rewrapped for u in batch["utt_id"]])
    assert len(ids[0]) == len(ids[1]) == 8 and not set(ids[0]) & set(ids[1])


def test_bad_split_and_missing_features(tiny_corpus):
    from crossdistill.data.loading import SpeechDataset

    corpus = load_corpus(tiny_corpus)
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        SpeechDataset(corpus, "dev", FeatureConfig(kind="waveform"))
    with pytest.raises(ValueError, match="need the split's cached features"):
        SpeechDataset(corpus, "train", FeatureConfig())
