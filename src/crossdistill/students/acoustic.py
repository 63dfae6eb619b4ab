"""The pre-trained acoustic module of Lugosch et al. (2019): front end, phoneme layers, word layers.

Layout (as ``PretrainedModel`` in lorenlugosch/end-to-end-SLU ``models.py``)::

    front end (SincNet or log-mel)                          10 ms frames
    phoneme layers: [bi-GRU -> dropout -> downsample] x N   (2 x 2 in Lugosch: 40 ms frames)
    phoneme classifier: linear, frame-wise
    word layers:    [bi-GRU -> dropout -> downsample] x M   (2 x 2 in Lugosch: 160 ms frames)
    word classifier: linear, frame-wise

Downsampling is average pooling ("avg", Lugosch's setting), max pooling ("max") or frame dropping
("drop", keep every k-th frame: Lugosch's "none"). Adaptations: the recurrent layers run on packed
sequences and pooling ignores padding, so outputs do not depend on the batch an utterance sits in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from torch import Tensor, nn

from crossdistill.students.configs import config_from_dict, config_to_dict
from crossdistill.students.frontends import LogMelConfig, SincNetConfig, build_frontend
from crossdistill.students.masking import (
    masked_avg_pool,
    masked_max_pool,
    pool_lengths,
    run_packed_rnn,
    zero_padding,
)
from crossdistill.students.serialization import load_module_files, save_module_files

DOWNSAMPLE_METHODS = ("avg", "max", "drop")


@dataclass
class AcousticConfig:
    """Sizes of the acoustic module.

    Fields:
      frontend: "sincnet" (raw 16 kHz waveform) or "logmel" (``(B, T, n_mels)`` features).
      sincnet, logmel: settings of each front end (only the chosen one is built).
      phoneme_hidden: hidden size of each phoneme-level GRU layer (per direction).
      phoneme_downsample: downsampling factor after each phoneme-level layer.
      word_hidden, word_downsample: the same for the word-level layers.
      downsample: "avg", "max" or "drop" (see the module docstring).
      bidirectional: bidirectional GRUs (True in Lugosch).
      dropout: dropout after each recurrent layer (0.5 in Lugosch).
      n_phonemes, n_words: classifier sizes (phoneme inventory, word vocabulary).
    """

    frontend: str = "sincnet"
    sincnet: SincNetConfig = field(default_factory=SincNetConfig)
    logmel: LogMelConfig = field(default_factory=LogMelConfig)
    phoneme_hidden: list[int] = field(default_factory=lambda: [128, 128])
    phoneme_downsample: list[int] = field(default_factory=lambda: [2, 2])
    word_hidden: list[int] = field(default_factory=lambda: [128, 128])
    word_downsample: list[int] = field(default_factory=lambda: [2, 2])
    downsample: str = "avg"
    bidirectional: bool = True
    dropout: float = 0.5
    n_phonemes: int = 40
    n_words: int = 100

    @property
    def frontend_config(self) -> SincNetConfig | LogMelConfig:
        """The settings of the chosen front end."""
        return self.sincnet if self.frontend == "sincnet" else self.logmel

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        if self.downsample not in DOWNSAMPLE_METHODS:
            raise ValueError(f"downsample must be one of {list(DOWNSAMPLE_METHODS)}, got {self.downsample!r}")
        for name in ("phoneme", "word"):
            hidden, factors = getattr(self, f"{name}_hidden"), getattr(self, f"{name}_downsample")
            if not hidden:
                raise ValueError(f"{name}_hidden must list at least one layer")
            if len(hidden) != len(factors):
                raise ValueError(f"{name}_downsample {factors} needs one factor per {name}_hidden {hidden}")
            if min(factors) < 1:
                raise ValueError(f"{name}_downsample factors must be >= 1, got {factors}")
        if self.n_phonemes < 1 or self.n_words < 1:
            raise ValueError(f"n_phonemes and n_words must be >= 1, got {self.n_phonemes}, {self.n_words}")


@dataclass
class AcousticOutput:
    """What the acoustic module computes for a batch.

    Fields:
      frame_lengths: valid frames after the front end, ``(B,)``.
      phoneme_hidden: output of the phoneme layers ``(B, Tp, Dp)`` (input of the phoneme classifier).
      phoneme_logits: frame-wise phoneme logits ``(B, Tp, n_phonemes)``.
      phoneme_lengths: valid phoneme-rate frames ``(B,)``.
      word_hidden: output of the word layers ``(B, Tw, Dw)`` (what Lugosch's intent module reads).
      word_logits: frame-wise word logits ``(B, Tw, n_words)``.
      word_lengths: valid word-rate frames ``(B,)``.
    Frames past each length are zero in the hidden tensors; logits there are meaningless.
    """

    frame_lengths: Tensor
    phoneme_hidden: Tensor
    phoneme_logits: Tensor
    phoneme_lengths: Tensor
    word_hidden: Tensor
    word_logits: Tensor
    word_lengths: Tensor


class RecurrentStack(nn.Module):
    """[GRU -> dropout -> downsample] per layer, on packed sequences."""

    def __init__(
        self,
        input_dim: int,
        hidden: list[int],
        factors: list[int],
        method: str,
        bidirectional: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        directions = 2 if bidirectional else 1
        dims = [input_dim] + [h * directions for h in hidden]
        self.rnns = nn.ModuleList(
            nn.GRU(d_in, h, batch_first=True, bidirectional=bidirectional)
            for d_in, h in zip(dims[:-1], hidden, strict=True)
        )
        self.factors = list(factors)
        self.method = method
        self.dropout = nn.Dropout(dropout)
        self.output_dim = dims[-1]

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        for rnn, factor in zip(self.rnns, self.factors, strict=True):
            x = self.dropout(run_packed_rnn(rnn, x, lengths))
            x, lengths = downsample(x, lengths, factor, self.method)
        return x, lengths


def downsample(x: Tensor, lengths: Tensor, factor: int, method: str) -> tuple[Tensor, Tensor]:
    """Shorten ``x`` ``(B, T, C)`` in time by ``factor`` (ceil), by "avg", "max" or "drop"."""
    if method == "avg":
        return masked_avg_pool(x, lengths, factor)
    if method == "max":
        return masked_max_pool(x, lengths, factor)
    if method == "drop":
        return zero_padding(x[:, ::factor], pool_lengths(lengths, factor)), pool_lengths(lengths, factor)
    raise ValueError(f"unknown downsampling method {method!r}; choose one of {list(DOWNSAMPLE_METHODS)}")


class AcousticModule(nn.Module):
    """Front end + phoneme layers + word layers, with frame-wise phoneme and word classifiers."""

    def __init__(self, config: AcousticConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.frontend = build_frontend(config.frontend, config.sincnet, config.logmel)
        self.phoneme_layers = RecurrentStack(
            self.frontend.output_dim,
            config.phoneme_hidden,
            config.phoneme_downsample,
            config.downsample,
            config.bidirectional,
            config.dropout,
        )
        self.phoneme_classifier = nn.Linear(self.phoneme_layers.output_dim, config.n_phonemes)
        self.word_layers = RecurrentStack(
            self.phoneme_layers.output_dim,
            config.word_hidden,
            config.word_downsample,
            config.downsample,
            config.bidirectional,
            config.dropout,
        )
        self.word_classifier = nn.Linear(self.word_layers.output_dim, config.n_words)

    @property
    def input_kind(self) -> str:
        """``"waveform"`` (SincNet, ``(B, S)``) or ``"features"`` (log-mel, ``(B, T, F)``)."""
        return self.frontend.input_kind

    @property
    def phoneme_frame_shift_s(self) -> float:
        """Seconds between consecutive phoneme-rate frames."""
        return self.frontend.frame_shift_s * math.prod(self.config.phoneme_downsample)

    @property
    def word_frame_shift_s(self) -> float:
        """Seconds between consecutive word-rate frames."""
        return self.phoneme_frame_shift_s * math.prod(self.config.word_downsample)

    @property
    def word_hidden_dim(self) -> int:
        return self.word_layers.output_dim

    def output_lengths(self, input_lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(phoneme_lengths, word_lengths)`` for inputs of ``input_lengths`` (samples or frames)."""
        lengths = self.frontend.output_lengths(input_lengths)
        for factor in self.config.phoneme_downsample:
            lengths = pool_lengths(lengths, factor)
        phoneme_lengths = lengths
        for factor in self.config.word_downsample:
            lengths = pool_lengths(lengths, factor)
        return phoneme_lengths, lengths

    def forward(self, inputs: Tensor, lengths: Tensor) -> AcousticOutput:
        """Run the module on waveform ``(B, S)`` or features ``(B, T, F)`` with valid ``lengths`` ``(B,)``."""
        frames, frame_lengths = self.frontend(inputs, lengths)
        phoneme_hidden, phoneme_lengths = self.phoneme_layers(frames, frame_lengths)
        word_hidden, word_lengths = self.word_layers(phoneme_hidden, phoneme_lengths)
        return AcousticOutput(
            frame_lengths=frame_lengths,
            phoneme_hidden=phoneme_hidden,
            phoneme_logits=self.phoneme_classifier(phoneme_hidden),
            phoneme_lengths=phoneme_lengths,
            word_hidden=word_hidden,
            word_logits=self.word_classifier(word_hidden),
            word_lengths=word_lengths,
        )

    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> None:
        """Write ``model.safetensors`` and ``config.json`` (plus ``extra`` JSON files by name) to ``directory``."""
        save_module_files(self, directory, {"kind": "acoustic", **config_to_dict(self.config)}, extra)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> AcousticModule:
        """Load a module written by :meth:`save_pretrained` (safetensors: no code is unpickled)."""
        config_dict, state = load_module_files(directory, expected_kind="acoustic")
        module = cls(config_from_dict(AcousticConfig, config_dict, f"{directory}/config.json"))
        module.load_state_dict(state)
        return module
