"""Log-mel features and their cache: shapes, content, reuse, invalidation, atomicity."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

import crossdistill.data.features as features_module
from crossdistill.data.corpus import load_corpus
from crossdistill.data.features import (
    FeatureConfig,
    compute_features,
    feature_cache_dir,
    load_or_compute_features,
    mel_filterbank,
)


def _tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return np.sin(2 * np.pi * freq * t).astype(np.float32)


@pytest.mark.parametrize("n_mels", [40, 80])
def test_shapes_follow_the_10ms_hop(n_mels):
    config = FeatureConfig(n_mels=n_mels)
    for n_samples in (0, 100, 160, 16000, 16159, 23456):
        features = compute_features(np.zeros(n_samples, np.float32), config)
        assert features.shape == (n_samples // 160, n_mels)
        assert features.dtype == torch.float32


def test_a_tone_peaks_in_the_mel_band_of_its_frequency():
    config = FeatureConfig(n_mels=80)
    filters = mel_filterbank(80, 512, 16000, 20.0, 8000.0)
    centres = np.linspace(0, 8000, 257)[filters.argmax(0).numpy()]
    for freq in (300.0, 1000.0, 3000.0):
        band = int(compute_features(_tone(freq), config).mean(0).argmax())
        assert abs(centres[band] - freq) < 0.12 * freq + 40


def test_frames_are_centred_on_their_10ms_span():
    """A click at 55 ms lands in frame 5, whose span is [50, 60) ms."""
    x = np.zeros(1600, np.float32)
    x[880] = 1.0
    energy = compute_features(x, FeatureConfig()).exp().sum(1)
    assert int(energy.argmax()) == 5


def test_waveform_kind_returns_the_samples_and_is_not_cached(tiny_corpus, tmp_path):
    config = FeatureConfig(kind="waveform")
    x = _tone(440.0, 0.1)
    assert torch.equal(compute_features(x, config), torch.from_numpy(x))
    with pytest.raises(ValueError, match="only log-mel features are cached"):
        load_or_compute_features(load_corpus(tiny_corpus), config, tmp_path)


def test_bad_configs():
    with pytest.raises(ValueError, match="feature kind 'mfcc' is unknown"):
        FeatureConfig(kind="mfcc")
    with pytest.raises(ValueError, match="longer than n_fft"):
        FeatureConfig(n_fft=256)
    with pytest.raises(ValueError, match=r"expected a mono waveform"):
        compute_features(np.zeros((2, 100), np.float32))


def test_cache_is_reused(tiny_corpus, tmp_path, monkeypatch):
    corpus = load_corpus(tiny_corpus)
    config = FeatureConfig()
    first = load_or_compute_features(corpus, config, tmp_path, progress=False)
    assert (feature_cache_dir(corpus, config, tmp_path) / "complete.json").is_file()

    def must_not_run(*args, **kwargs):
        raise AssertionError("the cache should have been reused")

    monkeypatch.setattr(features_module, "compute_split_features", must_not_run)
    second = load_or_compute_features(corpus, config, tmp_path, progress=False)
    for split in corpus.splits:
        assert second[split].utt_ids == [u.utt_id for u in corpus.splits[split]]
        assert torch.equal(second[split].features, first[split].features)
    utt = corpus.splits["valid"][1]
    fresh = compute_features(soundfile.read(str(utt.audio_path), dtype="float32")[0], config)
    assert torch.allclose(second["valid"][utt.utt_id], fresh, atol=0.02)  # float16 storage


def test_changed_config_or_audio_never_reuses_a_stale_cache(corpus_copy, tmp_path):
    corpus = load_corpus(corpus_copy)
    base = feature_cache_dir(corpus, FeatureConfig(), tmp_path)
    assert feature_cache_dir(corpus, FeatureConfig(n_mels=80), tmp_path) != base
    assert feature_cache_dir(corpus, FeatureConfig(hop_length_s=0.02), tmp_path) != base
    load_or_compute_features(corpus, FeatureConfig(), tmp_path, progress=False)
    utt = corpus.splits["train"][0]
    audio, rate = soundfile.read(str(utt.audio_path), dtype="int16")
    soundfile.write(str(utt.audio_path), audio[: len(audio) // 2], rate, subtype="PCM_16")
    changed = load_corpus(corpus_copy)
    assert feature_cache_dir(changed, FeatureConfig(), tmp_path) != base
    recomputed = load_or_compute_features(changed, FeatureConfig(), tmp_path, progress=False)
    assert recomputed["train"].get(0).shape[0] == (len(audio) // 2) // 160


def test_a_killed_run_leaves_no_trusted_cache(tiny_corpus, tmp_path, monkeypatch):
    corpus = load_corpus(tiny_corpus)
    config = FeatureConfig(n_mels=24)
    real = features_module.compute_split_features
    calls = []

    def dies_on_second_split(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(features_module, "compute_split_features", dies_on_second_split)
    with pytest.raises(KeyboardInterrupt):
        load_or_compute_features(corpus, config, tmp_path, progress=False)
    folder = feature_cache_dir(corpus, config, tmp_path)
    assert not (folder / "complete.json").exists()
    assert not [p for p in folder.iterdir() if ".tmp" in p.name]  # no temp files left behind
    monkeypatch.setattr(features_module, "compute_split_features", real)
    splits = load_or_compute_features(corpus, config, tmp_path, progress=False)
    assert (folder / "complete.json").is_file() and splits["test"].features.shape[1] == 24
