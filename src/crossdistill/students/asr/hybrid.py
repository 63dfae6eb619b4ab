"""Paper 001's hybrid acoustic model (Section 4.2): a 2-layer 2D-CNN, a transformer encoder and linear heads.

The supervised head predicts one senone per 10 ms frame (the DNN of a DNN-HMM hybrid system); each teacher LM j of
paper 001 eq. 4 adds one auxiliary head over that LM's units (senones, phones or subwords), trained only to match
the LM's frame-wise posteriors. All heads read the same encoder output, so the auxiliary tasks shape the shared
encoder and cost one linear layer each; decoding reads the senone head alone.

Frame rate: both convolutions have stride 1 in time and 2 in frequency (80 -> 40 -> 20 mel bins). The encoder
keeps the 10 ms frame grid of the alignments, so every frame label and every frame-wise posterior is used as it
is, and a 3-state HMM can still align a 30 ms phone (docs/asr.md explains the choice).

Features are normalized with global mean and variance of the training split (``set_feature_statistics``),
stored with the weights so that decoding applies exactly the training normalization. Padding never changes a
shorter utterance's outputs: padded frames are zeroed before each convolution and masked in self-attention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from crossdistill.students.configs import config_from_dict, config_to_dict
from crossdistill.students.masking import check_lengths, make_pad_mask
from crossdistill.students.serialization import load_module_files, save_module_files

MODEL_KIND = "hybrid_acoustic_model"
SENONE_HEAD = "senone"
AUX_PREFIX = "aux/"


def aux_head(unit: str) -> str:
    """The name of the auxiliary KD head distilled from the LM over ``unit``."""
    return AUX_PREFIX + unit


@dataclass
class HybridModelConfig:
    """Sizes of the hybrid AM (the paper: 2 CNN layers, 12 transformer layers; defaults fit 2 CPU cores).

    Fields:
      num_mel_bins: input feature dimension (80-dim log-mel filterbanks, paper 001).
      conv_channels, conv_kernel: the two 2D convolutions (stride 1 in time, 2 in frequency, ReLU after each).
      d_model, num_layers, num_heads, ff_dim, dropout: the transformer encoder (pre-norm layers).
    """

    num_mel_bins: int = 80
    conv_channels: int = 32
    conv_kernel: int = 3
    d_model: int = 144
    num_layers: int = 4
    num_heads: int = 4
    ff_dim: int = 576
    dropout: float = 0.1

    def validate(self) -> None:
        for name in ("num_mel_bins", "conv_channels", "d_model", "num_layers", "num_heads", "ff_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if self.conv_kernel < 1 or self.conv_kernel % 2 == 0:
            raise ValueError(f"model.conv_kernel must be odd and >= 1 (same-length time axis), got {self.conv_kernel}")
        if self.d_model % self.num_heads:
            raise ValueError(f"model.d_model ({self.d_model}) must be divisible by model.num_heads ({self.num_heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout must lie in [0, 1), got {self.dropout}")


def _frequency_bins_after(num_mel_bins: int, kernel: int, layers: int = 2) -> int:
    bins = num_mel_bins
    for _ in range(layers):
        bins = (bins + 2 * (kernel // 2) - kernel) // 2 + 1
    return bins


class ConvFrontend(nn.Module):
    """Two 2D convolutions over (time, frequency), stride (1, 2): (B, T, F) -> (B, T, d_model)."""

    def __init__(self, config: HybridModelConfig) -> None:
        super().__init__()
        channels, kernel = config.conv_channels, config.conv_kernel
        self.conv1 = nn.Conv2d(1, channels, kernel, stride=(1, 2), padding=kernel // 2)
        self.conv2 = nn.Conv2d(channels, channels, kernel, stride=(1, 2), padding=kernel // 2)
        bins = _frequency_bins_after(config.num_mel_bins, kernel)
        self.project = nn.Linear(channels * bins, config.d_model)

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        time_mask = mask[:, None, :, None].to(features.dtype)  # (B, 1, T, 1)
        x = torch.relu(self.conv1(features.unsqueeze(1) * time_mask))
        x = torch.relu(self.conv2(x * time_mask))  # zeroed padding, as an utterance alone would see
        batch, channels, frames, bins = x.shape
        return self.project(x.permute(0, 2, 1, 3).reshape(batch, frames, channels * bins))


def sinusoidal_positions(frames: int, dim: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """The transformer's fixed sinusoidal position encoding (Vaswani et al.): (frames, dim)."""
    position = torch.arange(frames, device=device, dtype=torch.float32)[:, None]
    rates = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(frames, dim, device=device)
    table[:, 0::2] = torch.sin(position * rates)
    table[:, 1::2] = torch.cos(position * rates[: dim // 2])
    return table.to(dtype)


class HybridAcousticModel(nn.Module):
    """CNN + transformer encoder with named linear heads: ``senone`` (supervised) and ``aux/<unit>`` (KD).

    heads: head name -> number of output classes, e.g. ``{"senone": K, "aux/phone": 41, "aux/subword": V}``.
    """

    def __init__(self, config: HybridModelConfig, heads: dict[str, int]) -> None:
        super().__init__()
        config.validate()
        if SENONE_HEAD not in heads:
            raise ValueError(f"a hybrid AM needs a {SENONE_HEAD!r} head; got heads {sorted(heads)}")
        for name, size in heads.items():
            if name != SENONE_HEAD and not name.startswith(AUX_PREFIX):
                raise ValueError(f"head {name!r}: names are {SENONE_HEAD!r} or {AUX_PREFIX}<unit>")
            if size < 2:
                raise ValueError(f"head {name!r} needs at least 2 classes, got {size}")
        self.config = config
        self.head_sizes = dict(heads)
        self.register_buffer("feature_mean", torch.zeros(config.num_mel_bins))
        self.register_buffer("feature_std", torch.ones(config.num_mel_bins))
        self.frontend = ConvFrontend(config)
        layer = nn.TransformerEncoderLayer(
            config.d_model, config.num_heads, config.ff_dim, config.dropout, batch_first=True, norm_first=True
        )
        # No nested-tensor fast path: it changes results with the batch's padding, and training never uses it.
        self.encoder = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.heads = nn.ModuleDict({_module_key(name): nn.Linear(config.d_model, size) for name, size in heads.items()})

    @property
    def head_names(self) -> list[str]:
        return list(self.head_sizes)

    def set_feature_statistics(self, mean: Tensor, std: Tensor) -> None:
        """Global feature normalization (per mel bin), from the training split."""
        if mean.shape != self.feature_mean.shape or std.shape != self.feature_std.shape:
            raise ValueError(f"feature statistics must have shape ({self.config.num_mel_bins},)")
        if not (std > 0).all():
            raise ValueError("feature standard deviations must be > 0")
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std)

    def encode(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """(B, T, F) log-mels and (B,) frame counts -> encoder output (B, T, d_model) and the (B, T) real-frame mask."""
        if features.dim() != 3 or features.shape[-1] != self.config.num_mel_bins:
            raise ValueError(f"features must be (B, T, {self.config.num_mel_bins}), got shape {tuple(features.shape)}")
        check_lengths(lengths, features.shape[0], features.shape[1], "hybrid AM input")
        mask = make_pad_mask(lengths, features.shape[1])
        x = (features - self.feature_mean) / self.feature_std
        x = self.frontend(x, mask)
        x = x * math.sqrt(self.config.d_model) + sinusoidal_positions(x.shape[1], x.shape[2], x.device, x.dtype)
        x = self.encoder(self.dropout(x), src_key_padding_mask=~mask)
        return self.final_norm(x), mask

    def classify(self, hidden: Tensor, names: list[str] | None = None) -> dict[str, Tensor]:
        """Logits of every head (or of ``names``) for encoder frames of any leading shape (..., d_model)."""
        return {name: self.heads[_module_key(name)](hidden) for name in (names or self.head_names)}

    def forward(self, features: Tensor, lengths: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """Logits (B, T, C) of every head and the (B, T) real-frame mask."""
        hidden, mask = self.encode(features, lengths)
        return self.classify(hidden), mask

    def describe(self) -> dict[str, Any]:
        """What ``config.json`` records about the architecture."""
        return {"model": config_to_dict(self.config), "heads": dict(self.head_sizes)}

    def save_pretrained(self, directory: str | Path, extra: dict[str, Any] | None = None) -> None:
        """``config.json`` (architecture, heads and ``extra`` metadata) and ``model.safetensors``."""
        save_module_files(self, directory, {"kind": MODEL_KIND, **self.describe(), **(extra or {})})

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> tuple[HybridAcousticModel, dict[str, Any]]:
        """The saved model (in eval mode) and the rest of its ``config.json`` (e.g. the units key)."""
        config, state = load_module_files(directory, MODEL_KIND)
        model = cls(config_from_dict(HybridModelConfig, config.pop("model"), "model"), config.pop("heads"))
        model.load_state_dict(state)
        return model.eval(), config


def _module_key(head: str) -> str:
    return head.replace("/", "__")  # ModuleDict keys cannot hold dots; slashes are kept out for readability
