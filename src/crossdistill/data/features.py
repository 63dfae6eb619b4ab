"""Acoustic features: log-mel filterbanks computed in PyTorch, or the raw waveform, and their disk cache.

Framing: 25 ms Hann windows every 10 ms. Frame ``i`` is centred at ``(i + 0.5) * hop`` seconds (the
signal is zero-padded by ``(window - hop) / 2`` on both sides), and an ``S``-sample signal has
``S // hop`` frames, so frame ``i`` stands for the span ``[i * hop, (i + 1) * hop)``: the same convention
``alignments.frame_labels`` uses for frame-wise targets.

Log-mel: power spectrum (512-point FFT) -> triangular HTK-mel filterbank -> ``log(x + 1e-6)``. No dither,
so features are deterministic.

Cache: ``<cache_dir>/features/<key>/<split>.safetensors`` (all frames of the split concatenated, as
float16, plus ``lengths``), ``<split>.json`` (utterance ids in the same order), and ``complete.json``,
written last; a folder without it is never trusted. ``key`` hashes the audio list (ids, sizes, mtimes)
and the feature config, so a changed corpus or config never reuses a stale cache. Each file is written
atomically.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor
from tqdm.auto import tqdm

from crossdistill.common import atomic_path, atomic_write_text, fingerprint
from crossdistill.common.progress import show_progress
from crossdistill.data.audio import SAMPLE_RATE, read_audio
from crossdistill.data.corpus import Corpus, Utterance

FEATURE_KINDS = ("logmel", "waveform")
CACHE_FORMAT_VERSION = 1
LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class FeatureConfig:
    """What the student reads.

    Fields:
      kind: ``logmel`` (features (T, n_mels)) or ``waveform`` (raw 16 kHz samples, for SincNet).
      n_mels: number of mel bins (40 or 80 in the papers' set-ups; any positive number works).
      sample_rate, win_length_s, hop_length_s, n_fft, f_min, f_max: analysis settings (f_max None = Nyquist).
    """

    kind: str = "logmel"
    n_mels: int = 40
    sample_rate: int = SAMPLE_RATE
    win_length_s: float = 0.025
    hop_length_s: float = 0.010
    n_fft: int = 512
    f_min: float = 20.0
    f_max: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"feature kind {self.kind!r} is unknown; choose one of {FEATURE_KINDS}")
        if self.n_mels < 1:
            raise ValueError(f"n_mels must be positive, got {self.n_mels}")
        if self.win_length > self.n_fft:
            raise ValueError(f"window ({self.win_length} samples) is longer than n_fft ({self.n_fft})")

    @property
    def win_length(self) -> int:
        """Window length in samples."""
        return round(self.win_length_s * self.sample_rate)

    @property
    def hop_length(self) -> int:
        """Hop in samples."""
        return round(self.hop_length_s * self.sample_rate)

    @property
    def feature_dim(self) -> int:
        """Size of the last axis of ``compute_features``' output (1 for the waveform)."""
        return self.n_mels if self.kind == "logmel" else 1

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return asdict(self)


def num_frames(n_samples: int, config: FeatureConfig) -> int:
    """Return the number of feature frames of an ``n_samples`` signal (``n_samples // hop``)."""
    return n_samples // config.hop_length


@functools.cache
def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, f_min: float, f_max: float) -> Tensor:
    """Return triangular HTK-mel filters as a ``(n_fft // 2 + 1, n_mels)`` matrix."""

    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins[:, None] - lower[None, :]) / (centre - lower)[None, :]
    falling = (upper[None, :] - bins[:, None]) / (upper - centre)[None, :]
    weights = np.clip(np.minimum(rising, falling), 0.0, None)
    return torch.from_numpy(weights.astype(np.float32))


@functools.cache
def _window(win_length: int) -> Tensor:
    return torch.hann_window(win_length, periodic=True)


def compute_features(waveform: Tensor | np.ndarray, config: FeatureConfig | None = None) -> Tensor:
    """Return the features of one 16 kHz mono waveform ``(S,)``.

    ``logmel``: float32 ``(S // hop, n_mels)``; ``waveform``: the samples as float32 ``(S,)``.
    """
    config = config or FeatureConfig()
    x = torch.as_tensor(waveform, dtype=torch.float32)
    if x.dim() != 1:
        raise ValueError(f"expected a mono waveform of shape (S,), got {tuple(x.shape)}")
    if config.kind == "waveform":
        return x
    n_frames = num_frames(x.shape[0], config)
    if n_frames == 0:
        return torch.zeros(0, config.n_mels)
    pad = (config.win_length - config.hop_length) // 2
    padded = torch.nn.functional.pad(x, (pad, pad + config.win_length))
    frames = padded.unfold(0, config.win_length, config.hop_length)[:n_frames]
    spectrum = torch.fft.rfft(frames * _window(config.win_length), n=config.n_fft)
    power = spectrum.real.square() + spectrum.imag.square()
    filters = mel_filterbank(
        config.n_mels, config.n_fft, config.sample_rate, config.f_min, config.f_max or config.sample_rate / 2
    )
    return torch.log(power @ filters + LOG_FLOOR)


@dataclass
class FeatureSplit:
    """Cached features of one split: per-utterance ``(T_i, F)`` slices of one float16 tensor."""

    utt_ids: list[str]
    features: Tensor  # (sum T_i, F), float16
    lengths: Tensor  # (N,)

    def __post_init__(self) -> None:
        self.offsets = torch.cumsum(self.lengths, 0) - self.lengths
        self.index = {utt_id: i for i, utt_id in enumerate(self.utt_ids)}

    def get(self, i: int) -> Tensor:
        """Return utterance ``i``'s features as float32 ``(T_i, F)``."""
        start = int(self.offsets[i])
        return self.features[start : start + int(self.lengths[i])].float()

    def __getitem__(self, utt_id: str) -> Tensor:
        return self.get(self.index[utt_id])


def default_cache_dir() -> Path:
    """Return ``$CROSSDISTILL_CACHE`` or ``~/.cache/crossdistill`` (never inside a source corpus)."""
    return Path(os.environ.get("CROSSDISTILL_CACHE", Path.home() / ".cache" / "crossdistill"))


def audio_list_fingerprint(utterances: list[Utterance]) -> str:
    """Hash the audio list: ids plus file sizes and modification times (a rewritten file changes them)."""
    entries = []
    for u in utterances:
        stat = u.audio_path.stat()
        entries.append([u.utt_id, stat.st_size, stat.st_mtime_ns])
    return fingerprint(entries)


def feature_cache_dir(corpus: Corpus, config: FeatureConfig, cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the cache folder for ``corpus`` and ``config``: keyed by the audio list, where it splits into train,
    valid and test (the cache is stored per split, and two splits of the same files may list them in one order), and
    the config."""
    key = fingerprint(
        {
            "format": CACHE_FORMAT_VERSION,
            "audio": audio_list_fingerprint(corpus.utterances()),
            "split_sizes": {split: len(utterances) for split, utterances in corpus.splits.items()},
            "config": config.to_dict(),
        }
    )
    return Path(cache_dir or default_cache_dir()) / "features" / key


def compute_split_features(utterances: list[Utterance], config: FeatureConfig, progress: bool = True) -> FeatureSplit:
    """Compute the features of ``utterances`` (in order) into one ``FeatureSplit``."""
    chunks, lengths = [], []
    # Per-utterance ops are far too small for intra-op threads: on a busy machine they made this 100x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for utt in tqdm(utterances, desc="features", unit="utt", disable=not show_progress(progress), leave=False):
            features = compute_features(read_audio(utt.audio_path, config.sample_rate), config)
            chunks.append(features.to(torch.float16))
            lengths.append(features.shape[0])
    finally:
        torch.set_num_threads(threads)
    stacked = torch.cat(chunks) if chunks else torch.zeros(0, config.n_mels, dtype=torch.float16)
    return FeatureSplit([u.utt_id for u in utterances], stacked.contiguous(), torch.tensor(lengths, dtype=torch.long))


def load_or_compute_features(
    corpus: Corpus,
    config: FeatureConfig,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[str, FeatureSplit]:
    """Return every split's log-mel features, from the cache when it is complete, else computed and cached.

    Only ``logmel`` is cached: the waveform is the audio file itself.
    """
    if config.kind != "logmel":
        raise ValueError(f"only log-mel features are cached; {config.kind!r} is read from the audio files")
    folder = feature_cache_dir(corpus, config, cache_dir)
    if not (folder / "complete.json").is_file():
        for split, utterances in corpus.splits.items():
            computed = compute_split_features(utterances, config, progress)
            with atomic_path(folder / f"{split}.safetensors") as tmp:
                save_file({"features": computed.features, "lengths": computed.lengths}, str(tmp))
            atomic_write_text(folder / f"{split}.json", json.dumps(computed.utt_ids))
        manifest = {"corpus": str(corpus.root), "config": config.to_dict(), "splits": list(corpus.splits)}
        atomic_write_text(folder / "complete.json", json.dumps(manifest, indent=1))
    return load_feature_cache(folder, corpus)


def load_feature_cache(folder: str | os.PathLike, corpus: Corpus | None = None) -> dict[str, FeatureSplit]:
    """Read a complete feature cache; with ``corpus``, check that it lists the corpus's utterances."""
    folder = Path(folder)
    manifest_path = folder / "complete.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{folder} is not a complete feature cache (no complete.json)")
    splits = {}
    for split in json.loads(manifest_path.read_text(encoding="utf-8"))["splits"]:
        tensors = load_file(str(folder / f"{split}.safetensors"))
        utt_ids = json.loads((folder / f"{split}.json").read_text(encoding="utf-8"))
        if corpus is not None and utt_ids != [u.utt_id for u in corpus.splits[split]]:
            raise ValueError(f"{folder}: cached split {split!r} does not list the corpus's utterances")
        splits[split] = FeatureSplit(utt_ids, tensors["features"], tensors["lengths"])
    return splits
