"""80-dim log-mel features: the contract's frame count, the cache (atomic, keyed, resumable), bad audio."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.asr import features as features_module
from crossdistill.data.asr.features import (
    FbankSettings,
    compute_fbank,
    feature_cache_dir,
    load_fbank_cache,
    load_or_compute_fbank,
)
from crossdistill.data.asr.frames import num_frames
from crossdistill.data.asr.librispeech import load_asr_corpus


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=400, max_value=48_000), st.integers(0, 2**31 - 1))
def test_frames_per_utterance_are_the_contract_frame_count(n_samples, seed):
    samples = np.random.default_rng(seed).uniform(-0.5, 0.5, n_samples).astype(np.float32)
    features = compute_fbank(samples)
    assert features.shape == ((n_samples + 80) // 160, 80) == (num_frames(n_samples), 80)
    assert np.isfinite(features).all()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # lhotse's mel helpers under NumPy 2
def test_features_are_lhotse_fbank_and_deterministic():
    from lhotse import Fbank, FbankConfig

    samples = np.random.default_rng(0).uniform(-0.5, 0.5, 16_123).astype(np.float32)
    reference = Fbank(FbankConfig(num_mel_bins=80, snip_edges=False, dither=0.0)).extract(samples, 16_000)
    np.testing.assert_array_equal(compute_fbank(samples), reference)
    np.testing.assert_array_equal(compute_fbank(samples), compute_fbank(samples))


def test_cache_holds_every_utterance_with_its_frame_count(librispeech_tree, asr_tree, tmp_path):
    corpus = load_asr_corpus(librispeech_tree, progress=False)
    before = asr_tree.snapshot(librispeech_tree)
    packed = load_or_compute_fbank(corpus, cache_dir=tmp_path / "cache", progress=False)
    assert asr_tree.snapshot(librispeech_tree) == before  # nothing written into the corpus
    assert feature_cache_dir(corpus, cache_dir=tmp_path / "cache").is_relative_to(tmp_path / "cache")
    assert list(packed) == list(corpus.splits)
    for split, utterances in corpus.splits.items():
        assert packed[split].utt_ids == tuple(u.utt_id for u in utterances)
        assert packed[split].features.dtype == np.float16
        for u in utterances:
            cached = packed[split].get(u.utt_id)
            assert cached.shape == (num_frames(u.num_samples), 80)
            direct = compute_fbank(features_module.read_samples(u))
            np.testing.assert_allclose(cached, direct, rtol=2e-3, atol=2e-3)  # float16 storage


def test_second_call_reads_the_cache_and_the_key_follows_audio_and_settings(librispeech_tree, tmp_path, monkeypatch):
    corpus = load_asr_corpus(librispeech_tree, progress=False)
    first = load_or_compute_fbank(corpus, cache_dir=tmp_path, progress=False)

    def forbidden(*args, **kwargs):
        raise AssertionError("recomputed a cached split")

    monkeypatch.setattr(features_module, "_compute_split", forbidden)
    again = load_or_compute_fbank(load_asr_corpus(librispeech_tree, progress=False), cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again["dev-clean"].features, first["dev-clean"].features)
    assert feature_cache_dir(corpus, FbankSettings(40), tmp_path) != feature_cache_dir(corpus, None, tmp_path)
    flac = corpus.splits["dev-clean"][0].path
    flac.write_bytes(flac.read_bytes())  # rewritten: a new modification time
    rewritten = load_asr_corpus(librispeech_tree, progress=False)
    assert feature_cache_dir(rewritten, cache_dir=tmp_path) != feature_cache_dir(corpus, cache_dir=tmp_path)


def test_a_run_killed_mid_split_resumes_to_the_uninterrupted_cache(librispeech_tree, tmp_path, monkeypatch):
    corpus = load_asr_corpus(librispeech_tree, progress=False)
    reference = load_or_compute_fbank(corpus, cache_dir=tmp_path / "reference", progress=False)

    calls, original = [0], features_module.compute_fbank

    def dies_on_the_fourth_utterance(*args, **kwargs):
        calls[0] += 1
        if calls[0] == 4:  # train-clean-100 has 5 utterances: dies inside the first split
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(features_module, "compute_fbank", dies_on_the_fourth_utterance)
    with pytest.raises(KeyboardInterrupt):
        load_or_compute_fbank(corpus, cache_dir=tmp_path / "resumed", progress=False)
    folder = feature_cache_dir(corpus, cache_dir=tmp_path / "resumed")
    assert list(folder.iterdir()) == []  # the partial split's temporary file is gone, nothing half-written
    with pytest.raises(FileNotFoundError, match="not a complete feature cache"):
        load_fbank_cache(folder)
    monkeypatch.setattr(features_module, "compute_fbank", original)
    resumed = load_or_compute_fbank(corpus, cache_dir=tmp_path / "resumed", progress=False)
    for split in corpus.splits:
        np.testing.assert_array_equal(resumed[split].features, reference[split].features)
        np.testing.assert_array_equal(resumed[split].offsets, reference[split].offsets)


def test_truncated_audio_is_an_error_naming_the_file(librispeech_tree, tmp_path):
    corpus = load_asr_corpus(librispeech_tree, progress=False)
    flac = corpus.splits["dev-clean"][1].path
    data = flac.read_bytes()
    flac.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=rf"{flac.name}: cannot decode the audio"):
        load_or_compute_fbank(corpus, cache_dir=tmp_path, progress=False)
    folder = feature_cache_dir(corpus, cache_dir=tmp_path)
    assert not (folder / "complete.json").exists() and not (folder / "dev-clean.index.npz").exists()


def test_bad_settings():
    with pytest.raises(ValueError, match="num_mel_bins must be positive"):
        FbankSettings(0)
