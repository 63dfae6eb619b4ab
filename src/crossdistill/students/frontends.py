"""Student front ends: raw waveform through SincNet, or log-mel features through a small convolution stack.

Both map a padded batch plus lengths to ``(B, T', D)`` frames at a 10 ms rate plus the output lengths, so
the recurrent layers above do not care which one they sit on.

SincNet follows Lugosch et al. (2019)'s released configuration (``cfg/pretrained_model.cfg`` of
lorenlugosch/end-to-end-SLU): 80 learned band-pass sinc filters of 401 taps at stride 80 (5 ms), absolute
value, max-pooling by 2 (10 ms), LeakyReLU(0.2); then two 1-D convolutions of 60 channels, kernel 5, each
with (here trivial) max-pooling by 1 and LeakyReLU(0.2). The layer norms named in that config are commented
out in its ``models.py``, so none are used here either. Adaptation: frames past each utterance's length are
zeroed after every convolution and pooling only looks at valid frames, so padding never changes the
outputs of a shorter utterance in a batch (the released code lets padding leak in).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from crossdistill.students.masking import check_lengths, make_pad_mask, masked_max_pool, zero_padding

FRONTENDS = ("sincnet", "logmel")


@dataclass
class SincNetConfig:
    """SincNet front end on 16 kHz waveform.

    Fields:
      sample_rate: input rate in Hz; the filters' cut-offs are learned in Hz relative to it.
      n_filters, filter_length, stride: the sinc convolution (length must be odd; stride in samples).
      pool: max-pooling factor after the sinc layer.
      conv_channels, conv_kernel, conv_pools: the ordinary 1-D convolutions after it (one pool each).
      negative_slope: LeakyReLU slope; dropout: after each convolution block (0 in Lugosch's config).
    """

    sample_rate: int = 16000
    n_filters: int = 80
    filter_length: int = 401
    stride: int = 80
    pool: int = 2
    conv_channels: list[int] = field(default_factory=lambda: [60, 60])
    conv_kernel: int = 5
    conv_pools: list[int] = field(default_factory=lambda: [1, 1])
    negative_slope: float = 0.2
    dropout: float = 0.0


@dataclass
class LogMelConfig:
    """Log-mel front end on precomputed ``(B, T, n_mels)`` features.

    Fields:
      n_mels: feature dimension expected at the input.
      frame_shift_s: hop of the features in seconds (10 ms for the data layer's log-mels).
      normalize: per-utterance mean and variance normalization over valid frames (CMVN).
      conv_channels, conv_kernel, conv_pools, negative_slope, dropout: as for SincNet's convolutions.
    """

    n_mels: int = 40
    frame_shift_s: float = 0.01
    normalize: bool = True
    conv_channels: list[int] = field(default_factory=lambda: [60, 60])
    conv_kernel: int = 5
    conv_pools: list[int] = field(default_factory=lambda: [1, 1])
    negative_slope: float = 0.2
    dropout: float = 0.0


class SincConv(nn.Module):
    """Band-pass sinc filters with learned low cut-off and bandwidth (Ravanelli & Bengio 2018).

    Initialized as in Lugosch's ``SincLayer``: centres equally spaced on the mel scale, each filter spanning
    from the previous centre to the next one; cut-offs are kept at least 50 Hz above zero and bands at least
    50 Hz wide. The filters are computed in one vectorized pass instead of a loop over filters.
    """

    MIN_LOW_HZ = 50.0
    MIN_BAND_HZ = 50.0

    def __init__(self, n_filters: int, filter_length: int, sample_rate: int, stride: int) -> None:
        super().__init__()
        if filter_length % 2 == 0:
            raise ValueError(f"sinc filter_length must be odd, got {filter_length}")
        self.n_filters = n_filters
        self.filter_length = filter_length
        self.sample_rate = sample_rate
        self.stride = stride
        self.padding = filter_length // 2
        low, band = _mel_initial_bands(n_filters, sample_rate)
        # Stored as fractions of the sample rate, as in the reference implementation.
        self.low = nn.Parameter(torch.from_numpy(low / sample_rate).float())
        self.band = nn.Parameter(torch.from_numpy(band / sample_rate).float())
        half = (filter_length - 1) // 2
        self.register_buffer("t_right", torch.arange(1, half + 1, dtype=torch.float32) / sample_rate, False)
        n = torch.linspace(0, filter_length, steps=filter_length)
        self.register_buffer("window", 0.54 - 0.46 * torch.cos(2 * math.pi * n / filter_length), False)

    def filters(self) -> Tensor:
        """Return the current filter bank ``(n_filters, 1, filter_length)``."""
        low = self.low.abs() + self.MIN_LOW_HZ / self.sample_rate
        high = low + self.band.abs() + self.MIN_BAND_HZ / self.sample_rate
        band_pass = self._low_pass(high) - self._low_pass(low)
        band_pass = band_pass / band_pass.amax(dim=1, keepdim=True)
        return (band_pass * self.window).unsqueeze(1)

    def _low_pass(self, cutoff: Tensor) -> Tensor:
        # 2 f sinc(2 pi f t), symmetric around a centre tap of value 2 f (f as a fraction of the rate).
        arg = 2 * math.pi * (cutoff * self.sample_rate).unsqueeze(1) * self.t_right.unsqueeze(0)
        right = torch.sin(arg) / arg
        ones = torch.ones_like(right[:, :1])
        return 2 * cutoff.unsqueeze(1) * torch.cat([right.flip(1), ones, right], dim=1)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Return the number of output frames for inputs of ``lengths`` samples."""
        span = lengths + 2 * self.padding - self.filter_length
        return torch.div(span, self.stride, rounding_mode="floor") + 1

    def forward(self, waveform: Tensor) -> Tensor:
        """Filter ``(B, S)`` waveform into ``(B, T, n_filters)``."""
        out = nn.functional.conv1d(waveform.unsqueeze(1), self.filters(), stride=self.stride, padding=self.padding)
        return out.transpose(1, 2)


def _mel_initial_bands(n_filters: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the initial (low cut-off, bandwidth) in Hz of each filter, as in Lugosch's SincLayer."""
    high_mel = 2595 * np.log10(1 + (sample_rate / 2) / 700)
    mel_points = np.linspace(80, high_mel, n_filters)  # 80 on the mel scale, as in the reference code
    centres = 700 * (10 ** (mel_points / 2595) - 1)
    low = np.roll(centres, 1)
    high = np.roll(centres, -1)
    low[0] = 30
    high[-1] = sample_rate / 2 - 100
    return low, high - low


class ConvStack(nn.Module):
    """1-D convolutions (same padding), each followed by masked max-pooling, LeakyReLU and dropout."""

    def __init__(
        self,
        in_channels: int,
        channels: list[int],
        kernel: int,
        pools: list[int],
        negative_slope: float,
        dropout: float,
    ) -> None:
        super().__init__()
        if len(pools) != len(channels):
            raise ValueError(f"conv_pools {pools} must have one entry per conv_channels {channels}")
        if kernel % 2 == 0:
            raise ValueError(f"conv_kernel must be odd to keep frames centred, got {kernel}")
        sizes = [in_channels, *channels]
        self.convs = nn.ModuleList(nn.Conv1d(a, b, kernel, padding=kernel // 2) for a, b in itertools.pairwise(sizes))
        self.pools = list(pools)
        self.activation = nn.LeakyReLU(negative_slope)
        self.dropout = nn.Dropout(dropout)
        self.output_dim = sizes[-1]

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        for conv, pool in zip(self.convs, self.pools, strict=True):
            x = zero_padding(conv(x.transpose(1, 2)).transpose(1, 2), lengths)
            x, lengths = masked_max_pool(x, lengths, pool)
            x = self.dropout(self.activation(x))
        return x, lengths


class SincNetFrontend(nn.Module):
    """Raw waveform ``(B, S)`` -> ``(B, T', D)`` frames at ``stride * pool * prod(conv_pools)`` samples."""

    input_kind = "waveform"

    def __init__(self, config: SincNetConfig) -> None:
        super().__init__()
        self.config = config
        self.sinc = SincConv(config.n_filters, config.filter_length, config.sample_rate, config.stride)
        self.activation = nn.LeakyReLU(config.negative_slope)
        self.dropout = nn.Dropout(config.dropout)
        self.convs = ConvStack(
            config.n_filters,
            config.conv_channels,
            config.conv_kernel,
            config.conv_pools,
            config.negative_slope,
            config.dropout,
        )
        self.output_dim = self.convs.output_dim
        samples = config.stride * config.pool * math.prod(config.conv_pools)
        self.frame_shift_s = samples / config.sample_rate

    def forward(self, waveform: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(frames (B, T', D), frame lengths (B,))`` for waveform ``(B, S)`` of ``lengths`` samples."""
        if waveform.dim() != 2:
            raise ValueError(f"SincNet expects waveform of shape (B, S), got {tuple(waveform.shape)}")
        check_lengths(lengths, waveform.shape[0], waveform.shape[1], "SincNet waveform")
        # Samples past each length must be zero, as the sinc layer's own padding is, for the last frames.
        waveform = waveform * make_pad_mask(lengths, waveform.shape[1]).to(waveform.dtype)
        x = self.sinc(waveform).abs()
        lengths = self.sinc.output_lengths(lengths)
        x = zero_padding(x, lengths)
        x, lengths = masked_max_pool(x, lengths, self.config.pool)
        x = self.dropout(self.activation(x))
        return self.convs(x, lengths)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Return the frame lengths this front end gives for waveforms of ``lengths`` samples."""
        out = self.sinc.output_lengths(lengths)
        for pool in [self.config.pool, *self.config.conv_pools]:
            out = torch.div(out + pool - 1, pool, rounding_mode="floor")
        return out


class LogMelFrontend(nn.Module):
    """Log-mel features ``(B, T, F)`` -> per-utterance normalization -> conv stack -> ``(B, T', D)``."""

    input_kind = "features"

    def __init__(self, config: LogMelConfig) -> None:
        super().__init__()
        self.config = config
        self.convs = ConvStack(
            config.n_mels,
            config.conv_channels,
            config.conv_kernel,
            config.conv_pools,
            config.negative_slope,
            config.dropout,
        )
        self.output_dim = self.convs.output_dim
        self.frame_shift_s = config.frame_shift_s * math.prod(config.conv_pools)

    def forward(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(frames (B, T', D), lengths (B,))`` for features ``(B, T, n_mels)`` of ``lengths`` frames."""
        if features.dim() != 3 or features.shape[2] != self.config.n_mels:
            raise ValueError(
                f"log-mel front end expects features of shape (B, T, {self.config.n_mels}), got {tuple(features.shape)}"
            )
        check_lengths(lengths, features.shape[0], features.shape[1], "log-mel features")
        x = zero_padding(features, lengths)
        if self.config.normalize:
            x = _normalize_per_utterance(x, lengths)
        return self.convs(x, lengths)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Return the frame lengths this front end gives for ``lengths`` input frames."""
        out = lengths
        for pool in self.config.conv_pools:
            out = torch.div(out + pool - 1, pool, rounding_mode="floor")
        return out


def _normalize_per_utterance(x: Tensor, lengths: Tensor, eps: float = 1e-5) -> Tensor:
    """Subtract each utterance's mean and divide by its standard deviation, per feature, over valid frames."""
    count = lengths.to(x.dtype).view(-1, 1, 1)
    mean = x.sum(dim=1, keepdim=True) / count
    centred = zero_padding(x - mean, lengths)
    var = centred.pow(2).sum(dim=1, keepdim=True) / count
    return centred / torch.sqrt(var + eps)


def build_frontend(kind: str, sincnet: SincNetConfig, logmel: LogMelConfig) -> SincNetFrontend | LogMelFrontend:
    """Return the front end named ``kind`` ("sincnet" or "logmel")."""
    if kind == "sincnet":
        return SincNetFrontend(sincnet)
    if kind == "logmel":
        return LogMelFrontend(logmel)
    raise ValueError(f"unknown front end {kind!r}; choose one of {list(FRONTENDS)}")
