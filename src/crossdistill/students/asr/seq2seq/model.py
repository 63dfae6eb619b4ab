"""Paper 001's attention-based seq2seq ASR model (Sections 4.2 and 5.1): 2D-CNN subsampling, transformer encoder and
decoder, and task-specific output layers on the decoder.

The paper's model (ESPnet, "similar settings to" Bai et al.'s LST) has 12 encoder and 6 decoder layers, two 2D-CNN
subsampling layers at the encoder input and 5,000 subword outputs shared with the LM; sizes here are configurable and
default to what trains on two CPU cores (docs/asr.md). Output heads, all linear layers over the subword inventory:

- ``supervised``: trained on the reference labels (plain CE, or LST's interpolated target, paper 001 eq. 3); the
  only head decoding reads;
- ``kd`` (multi-task form, paper 001 eq. 4): a second task-specific layer on the same decoder states, trained only to
  match the LM's next-token distribution;
- ``ctc`` (optional, off by default): a CTC layer on the encoder output for ESPnet-style joint CTC-attention
  training; CTC's blank is id 0, sentencepiece's ``<unk>``, which no training target may contain;
- ``frame`` (optional, off by default; our addition, not the paper's): a linear layer on the encoder output that
  classifies each subsampled frame into the alignment's phones (or senones), an auxiliary loss that teaches the
  encoder acoustics on corpora too small for attention alone (docs/asr.md). Decoding never reads it.

Token ids are the units folder's subword inventory: ``<s>`` (1) starts the decoder input and ``</s>`` (2) ends every
target. Features are normalized with global mean and variance of the training split, stored with the weights.
Padding never changes a shorter utterance's outputs: the convolutions read only real frames of the frames they
keep (ESPnet's output-length formula), attention masks padded keys, and the decoder is causal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from crossdistill.students.asr.hybrid import sinusoidal_positions
from crossdistill.students.configs import config_from_dict, config_to_dict
from crossdistill.students.masking import check_lengths, make_pad_mask
from crossdistill.students.serialization import load_module_files, save_module_files

MODEL_KIND = "seq2seq_asr"
SUPERVISED_HEAD = "supervised"
KD_HEAD = "kd"
CTC_HEAD = "ctc"
FRAME_HEAD = "frame"
FRAME_PADDING = -100  # frame targets beyond an utterance's subsampled length (cross_entropy's ignore_index)
CTC_BLANK = 0  # sentencepiece's <unk>: never a training target (the data layer refuses transcripts that need it)
SOS_PIECE, EOS_PIECE = "<s>", "</s>"


@dataclass
class Seq2SeqConfig:
    """Sizes of the seq2seq model (paper 001: 12 encoder and 6 decoder layers; defaults fit 2 CPU cores).

    Fields:
      num_mel_bins: input feature dimension (80-dim log-mel filterbanks).
      conv_channels: channels of the two 2D convolutions (kernel 3, stride 2 in time and frequency: 4x fewer frames).
      d_model, num_heads, ff_dim, dropout: transformer sizes shared by encoder and decoder (pre-norm layers).
      encoder_layers, decoder_layers: depths.
      vocab_size: subword inventory size (the units folder's ``subword.txt``).
      sos_id, eos_id: ids of ``<s>`` and ``</s>`` in that inventory.
      kd_head: build the auxiliary KD output layer (paper 001 eq. 4).
      ctc_head: build the CTC output layer on the encoder (joint CTC-attention training).
      frame_classes: classes of the auxiliary frame layer on the encoder (0: no such layer).
    """

    vocab_size: int = 0
    sos_id: int = 1
    eos_id: int = 2
    num_mel_bins: int = 80
    conv_channels: int = 64
    d_model: int = 144
    num_heads: int = 4
    ff_dim: int = 576
    encoder_layers: int = 6
    decoder_layers: int = 3
    dropout: float = 0.1
    kd_head: bool = False
    ctc_head: bool = False
    frame_classes: int = 0

    def validate(self) -> None:
        for name in (
            "num_mel_bins",
            "conv_channels",
            "d_model",
            "num_heads",
            "ff_dim",
            "encoder_layers",
            "decoder_layers",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if self.vocab_size < 4:
            raise ValueError(f"vocab_size must be >= 4 (the subword inventory's size), got {self.vocab_size}")
        for name in ("sos_id", "eos_id"):
            if not 0 <= getattr(self, name) < self.vocab_size:
                raise ValueError(f"{name} {getattr(self, name)} is outside the vocabulary of {self.vocab_size}")
        if self.d_model % self.num_heads:
            raise ValueError(f"model.d_model ({self.d_model}) must be divisible by model.num_heads ({self.num_heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout must lie in [0, 1), got {self.dropout}")
        if self.frame_classes < 0 or self.frame_classes == 1:
            raise ValueError(f"frame_classes must be 0 (no frame layer) or >= 2, got {self.frame_classes}")

    @property
    def head_names(self) -> list[str]:
        return [SUPERVISED_HEAD] + [KD_HEAD] * self.kd_head


MIN_INPUT_FRAMES = 7  # the shortest input that leaves one frame after both convolutions


def subsampled_lengths(lengths: Tensor) -> Tensor:
    """Frames after the two stride-2 convolutions of kernel 3 without padding: ((T - 1) // 2 - 1) // 2 (ESPnet's
    Conv2dSubsampling). Each kept frame reads only input frames before ``lengths``."""
    return torch.div(torch.div(lengths - 1, 2, rounding_mode="floor") - 1, 2, rounding_mode="floor")


def subsample_frame_labels(labels: Tensor) -> Tensor:
    """Per-frame labels (T,) at the 10 ms rate -> one label per subsampled frame: the label of the centre of the
    frame's 7-frame receptive field (input frame 4t + 3), ``subsampled_lengths`` of them."""
    kept = int(subsampled_lengths(torch.tensor(len(labels))))
    return labels[4 * torch.arange(max(kept, 0)) + 3]


class Conv2dSubsampling(nn.Module):
    """Two 2D convolutions over (time, frequency), kernel 3, stride 2, ReLU: (B, T, F) -> (B, T', d_model), T' ~ T/4.

    The hybrid AM's front end (``students.asr.hybrid.ConvFrontend``) keeps the 10 ms frame grid its frame labels
    need (stride 1 in time); the seq2seq model has no frame labels and subsamples time as the paper's ESPnet
    recipe does, which cuts the encoder's cost by 4x.
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        channels = config.conv_channels
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=2), nn.ReLU(), nn.Conv2d(channels, channels, 3, stride=2), nn.ReLU()
        )
        bins = ((config.num_mel_bins - 1) // 2 - 1) // 2
        if bins < 1:
            raise ValueError(f"model.num_mel_bins {config.num_mel_bins} is too small for two stride-2 convolutions")
        self.project = nn.Linear(channels * bins, config.d_model)

    def forward(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x = self.conv(features.unsqueeze(1))  # (B, C, T', F')
        batch, channels, frames, bins = x.shape
        return self.project(x.transpose(1, 2).reshape(batch, frames, channels * bins)), subsampled_lengths(lengths)


def _add_positions(x: Tensor) -> Tensor:
    return x * math.sqrt(x.shape[-1]) + sinusoidal_positions(x.shape[1], x.shape[2], x.device, x.dtype)


def causal_mask(length: int, device: torch.device) -> Tensor:
    """(L, L) bool mask, True above the diagonal: position i attends to positions <= i only."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


class Seq2SeqASR(nn.Module):
    """Transformer encoder-decoder over subwords; ``forward`` returns teacher-forced logits of every head."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        d, vocab = config.d_model, config.vocab_size
        self.register_buffer("feature_mean", torch.zeros(config.num_mel_bins))
        self.register_buffer("feature_std", torch.ones(config.num_mel_bins))
        self.subsampling = Conv2dSubsampling(config)
        encoder_layer = nn.TransformerEncoderLayer(
            d, config.num_heads, config.ff_dim, config.dropout, batch_first=True, norm_first=True
        )
        # No nested-tensor fast path: its results depend on the batch's padding.
        self.encoder = nn.TransformerEncoder(encoder_layer, config.encoder_layers, enable_nested_tensor=False)
        self.encoder_norm = nn.LayerNorm(d)
        self.embedding = nn.Embedding(vocab, d)
        # Unit-variance inputs after the sqrt(d) scaling (fairseq's transformer initialization). torch's N(0, 1) init
        # times sqrt(d) makes the token embedding dwarf what cross-attention adds to the pre-norm residual stream,
        # and the decoder then learns a language model that ignores the audio (measured: docs/asr.md).
        nn.init.normal_(self.embedding.weight, std=d**-0.5)
        decoder_layer = nn.TransformerDecoderLayer(
            d, config.num_heads, config.ff_dim, config.dropout, batch_first=True, norm_first=True
        )
        self.decoder = nn.TransformerDecoder(decoder_layer, config.decoder_layers)
        self.decoder_norm = nn.LayerNorm(d)
        self.dropout = nn.Dropout(config.dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(d, vocab) for name in config.head_names})
        self.ctc = nn.Linear(d, vocab) if config.ctc_head else None
        self.frame = nn.Linear(d, config.frame_classes) if config.frame_classes else None

    @property
    def head_names(self) -> list[str]:
        return self.config.head_names

    def set_feature_statistics(self, mean: Tensor, std: Tensor) -> None:
        """Global feature normalization (per mel bin), from the training split."""
        if mean.shape != self.feature_mean.shape or std.shape != self.feature_std.shape:
            raise ValueError(f"feature statistics must have shape ({self.config.num_mel_bins},)")
        if not (std > 0).all():
            raise ValueError("feature standard deviations must be > 0")
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std)

    def encode(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """(B, T, F) log-mels and (B,) frame counts -> encoder states (B, T', d) and their (B, T') real-frame mask."""
        if features.dim() != 3 or features.shape[-1] != self.config.num_mel_bins:
            raise ValueError(f"features must be (B, T, {self.config.num_mel_bins}), got shape {tuple(features.shape)}")
        check_lengths(lengths, features.shape[0], features.shape[1], "seq2seq input")
        if int(lengths.min()) < MIN_INPUT_FRAMES:
            raise ValueError(
                f"seq2seq input: every utterance needs >= {MIN_INPUT_FRAMES} frames, got {lengths.tolist()}"
            )
        x = (features - self.feature_mean) / self.feature_std
        x, out_lengths = self.subsampling(x, lengths)
        mask = make_pad_mask(out_lengths, x.shape[1])
        x = self.encoder(self.dropout(_add_positions(x)), src_key_padding_mask=~mask)
        return self.encoder_norm(x), mask

    def decode(self, memory: Tensor, memory_mask: Tensor, tokens: Tensor, token_mask: Tensor | None = None) -> Tensor:
        """Decoder states (B, L, d) for decoder inputs ``tokens`` (B, L) (``<s>`` then the prefix) over ``memory``.

        ``token_mask`` (B, L) marks real input positions (None: all real). Causal: position i sees tokens <= i.
        """
        x = self.dropout(_add_positions(self.embedding(tokens)))
        padding = None if token_mask is None else ~token_mask
        x = self.decoder(
            x,
            memory,
            tgt_mask=causal_mask(tokens.shape[1], tokens.device),
            tgt_is_causal=True,
            tgt_key_padding_mask=padding,
            memory_key_padding_mask=~memory_mask,
        )
        return self.decoder_norm(x)

    def classify(self, states: Tensor, names: list[str] | None = None) -> dict[str, Tensor]:
        """Logits of every decoder head (or of ``names``) for decoder states of any leading shape."""
        return {name: self.heads[name](states) for name in (names or self.head_names)}

    def forward(self, features: Tensor, lengths: Tensor, tokens: Tensor, token_mask: Tensor | None = None) -> dict:
        """Teacher-forced outputs: ``{head: (B, L, V) logits}`` for every decoder head, plus ``ctc`` (B, T', V),
        ``frame`` (B, T', C) and ``encoder_mask`` (B, T') when the model has those layers."""
        memory, memory_mask = self.encode(features, lengths)
        outputs: dict[str, Tensor] = self.classify(self.decode(memory, memory_mask, tokens, token_mask))
        for name, layer in ((CTC_HEAD, self.ctc), (FRAME_HEAD, self.frame)):
            if layer is not None:
                outputs[name] = layer(memory)
                outputs["encoder_mask"] = memory_mask
        return outputs

    def describe(self) -> dict[str, Any]:
        return {"model": config_to_dict(self.config)}

    def save_pretrained(self, directory: str | Path, extra: dict[str, Any] | None = None) -> None:
        """``config.json`` (architecture and ``extra`` metadata) and ``model.safetensors``."""
        save_module_files(self, directory, {"kind": MODEL_KIND, **self.describe(), **(extra or {})})

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> tuple[Seq2SeqASR, dict[str, Any]]:
        """The saved model (eval mode) and the rest of its ``config.json`` (units key, recipe, ...)."""
        config, state = load_module_files(directory, MODEL_KIND)
        model = cls(config_from_dict(Seq2SeqConfig, config.pop("model"), "model"))
        model.load_state_dict(state)
        return model.eval(), config
