"""The text teacher (paper 000): an encoder, a dense layer of width 256 on the sentence representation and
one linear classifier per head (the intent, and optionally each slot).

Two encoders:
  * ``transformer``: a Hugging Face encoder (default all-MiniLM-L6-v2; the paper used BERT-Base) whose
    first-token ([CLS]) hidden state is the sentence representation, fine-tuned end to end.
  * ``scratch``: a small BiLSTM over the same word pieces, trained from random initialization, for users
    without a pretrained encoder and for fast tests. Its sentence representation is the concatenation of
    the last layer's final forward and backward states (an LSTM has no meaningful [CLS] state).

Dropout sits on the encoder's representation and on the dense layer, as in ordinary fine-tuning; the
teacher is in eval mode whenever its outputs are cached (the dropout-confidence perturbation D is the
``crossdistill.kd`` function's job, not the model's).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from crossdistill.common import atomic_path, atomic_write_text
from crossdistill.data.corpus import LabelSet
from crossdistill.teachers.text.encoders import (
    build_encoder_from_config,
    load_pretrained_encoder,
    load_tokenizer,
)

FORMAT_VERSION = 1
CONFIG_FILE = "teacher.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_DIR = "tokenizer"
ENCODER_CONFIG_DIR = "encoder"

ARCHS = ("transformer", "scratch")
HEAD_SETS = {"intent": ("intent",), "intent+slots": ("intent", *LabelSet.SLOTS)}


class TeacherLabelMismatch(ValueError):
    """The teacher was trained on a label set other than the corpus's: its class ids would mean other things."""


@dataclass(kw_only=True)
class TeacherArchitecture:
    """The teacher's sizes: one definition shared by its saved config (:class:`TeacherConfig`) and the training
    options (``TrainOptions``).

    Fields:
      max_length: word pieces per transcript, [CLS] and [SEP] included (longer ones are truncated).
      dense_dim: width of the dense layer on the sentence representation (256 in paper 000).
      dropout: dropout rate on the representation and the dense layer during training.
      embedding_dim, hidden_dim, num_layers: BiLSTM sizes (``scratch`` only).
    """

    max_length: int = 32
    dense_dim: int = 256
    dropout: float = 0.1
    embedding_dim: int = 128
    hidden_dim: int = 128
    num_layers: int = 1

    def architecture(self) -> dict[str, Any]:
        """The sizes as a mapping (``TeacherArchitecture``'s fields only)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(TeacherArchitecture)}

    def check_architecture(self) -> None:
        if self.max_length < 3:
            raise ValueError(f"max_length must be at least 3 ([CLS], one piece, [SEP]), got {self.max_length}")
        for name in ("dense_dim", "embedding_dim", "hidden_dim", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


@dataclass
class TeacherConfig(TeacherArchitecture):
    """Everything needed to rebuild a teacher; saved as ``teacher.json`` beside the weights.

    Fields (and the sizes of :class:`TeacherArchitecture`):
      arch: ``transformer`` (pretrained HF encoder) or ``scratch`` (BiLSTM from random init).
      labels: the corpus label set (``LabelSet.to_dict()``) that the class ids index.
      heads: head names, ``intent`` first, then optionally ``action``, ``object``, ``location``.
      encoder_source: where the pretrained encoder came from (folder or hub name); informational, the
        teacher folder itself holds the encoder config and all weights.
      tokenizer_source: where the tokenizer came from; a copy is saved under ``tokenizer/``.
    """

    arch: str
    labels: dict[str, Any]
    heads: tuple[str, ...] = HEAD_SETS["intent"]
    encoder_source: str | None = None
    tokenizer_source: str = ""
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        self.heads = tuple(self.heads)
        if self.arch not in ARCHS:
            raise ValueError(f"unknown teacher arch {self.arch!r}; expected one of {ARCHS}")
        if not self.heads or self.heads[0] != "intent" or not set(self.heads) <= set(HEAD_SETS["intent+slots"]):
            raise ValueError(f"heads must start with 'intent' and name slots {LabelSet.SLOTS}, got {self.heads}")
        self.check_architecture()

    @property
    def label_set(self) -> LabelSet:
        return LabelSet.from_dict(self.labels)

    def head_sizes(self) -> dict[str, int]:
        """Return the number of classes of each head."""
        labels = self.label_set
        return {h: len(labels.intents) if h == "intent" else len(labels.slot_values(h)) for h in self.heads}

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["heads"] = list(self.heads)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TeacherConfig:
        if d.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported teacher format_version {d.get('format_version')!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


class TransformerEncoder(nn.Module):
    """A Hugging Face encoder returning the first-token ([CLS]) hidden state."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.hidden_size = int(model.config.hidden_size)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, 0]


class ScratchEncoder(nn.Module):
    """Word-piece embeddings and a BiLSTM; returns the final forward and backward states, concatenated."""

    def __init__(
        self, vocab_size: int, pad_id: int, embedding_dim: int, hidden_dim: int, num_layers: int, dropout: float
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(
            embedding_dim,
            hidden_dim,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.hidden_size = 2 * hidden_dim

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        lengths = attention_mask.sum(dim=1).clamp(min=1).cpu()
        embedded = self.dropout(self.embedding(input_ids))
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)
        return torch.cat([h_n[-2], h_n[-1]], dim=-1)  # last layer: forward, backward


class TextTeacher(nn.Module):
    """Encoder -> dropout -> dense (width ``dense_dim``, tanh as in BERT's pooler) -> dropout -> heads.

    ``forward`` returns ``{head: logits (B, C_head)}``; ``features`` returns the dense layer's output, the
    input of every head (used for dropout confidence on features).
    """

    def __init__(self, config: TeacherConfig, encoder: nn.Module, tokenizer: Any) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.dropout = nn.Dropout(config.dropout)
        self.dense = nn.Linear(encoder.hidden_size, config.dense_dim)
        self.heads = nn.ModuleDict({h: nn.Linear(config.dense_dim, n) for h, n in config.head_sizes().items()})

    def tokenize(self, texts: list[str]) -> dict[str, Tensor]:
        """Return padded ``input_ids`` and ``attention_mask`` for normalized ``texts``."""
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.config.max_length, return_tensors="pt"
        )
        device = self.dense.weight.device
        return {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)}

    def features(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        sentence = self.encoder(input_ids, attention_mask)
        return self.dropout(torch.tanh(self.dense(self.dropout(sentence))))

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> dict[str, Tensor]:
        features = self.features(input_ids, attention_mask)
        return {name: head(features) for name, head in self.heads.items()}


def build_teacher(config: TeacherConfig) -> TextTeacher:
    """Build a new teacher: pretrained encoder weights (``transformer``) or random ones (``scratch``).

    The heads (and the scratch encoder) are initialized from torch's global RNG: seed it first.
    """
    tokenizer = load_tokenizer(config.tokenizer_source)
    if config.arch == "transformer":
        encoder: nn.Module = TransformerEncoder(load_pretrained_encoder(config.encoder_source))
    else:
        encoder = _build_scratch_encoder(config, tokenizer)
    return TextTeacher(config, encoder, tokenizer)


def _build_scratch_encoder(config: TeacherConfig, tokenizer: Any) -> ScratchEncoder:
    if tokenizer.pad_token_id is None:
        raise ValueError(f"tokenizer {config.tokenizer_source!r} has no padding token")
    return ScratchEncoder(
        len(tokenizer),
        tokenizer.pad_token_id,
        config.embedding_dim,
        config.hidden_dim,
        config.num_layers,
        config.dropout,
    )


def save_teacher(teacher: TextTeacher, out_dir: str | Path) -> None:
    """Write ``teacher.json``, ``model.safetensors``, the tokenizer and (transformer) the encoder config."""
    from safetensors.torch import save_model

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    teacher.tokenizer.save_pretrained(str(out_dir / TOKENIZER_DIR))
    if isinstance(teacher.encoder, TransformerEncoder):
        teacher.encoder.model.config.save_pretrained(str(out_dir / ENCODER_CONFIG_DIR))
    with atomic_path(out_dir / WEIGHTS_FILE) as tmp:
        save_model(teacher, str(tmp), metadata={"format": "pt"})
    # The config goes last: a folder with teacher.json is a complete teacher.
    atomic_write_text(out_dir / CONFIG_FILE, json.dumps(teacher.config.to_dict(), indent=2) + "\n")


def read_teacher_config(teacher_dir: str | Path) -> TeacherConfig:
    """Read ``teacher.json`` of a teacher folder, with a clear error when it is not one."""
    path = Path(teacher_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {teacher_dir} is not a trained teacher folder")
    try:
        return TeacherConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: invalid teacher config ({error})") from error


def load_teacher(teacher_dir: str | Path) -> TextTeacher:
    """Load a saved teacher in eval mode, on the CPU."""
    from safetensors.torch import load_model

    teacher_dir = Path(teacher_dir)
    config = read_teacher_config(teacher_dir)
    tokenizer = load_tokenizer(str(teacher_dir / TOKENIZER_DIR))
    if config.arch == "transformer":
        encoder: nn.Module = TransformerEncoder(build_encoder_from_config(teacher_dir / ENCODER_CONFIG_DIR))
    else:
        encoder = _build_scratch_encoder(config, tokenizer)
    teacher = TextTeacher(config, encoder, tokenizer)
    weights = teacher_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} not found (incomplete teacher folder)")
    load_model(teacher, str(weights), strict=True)
    return teacher.eval()


def check_label_set(config: TeacherConfig, labels: LabelSet, where: str = "the corpus") -> None:
    """Raise ``TeacherLabelMismatch`` unless the teacher's label set equals ``labels`` (values and order)."""
    theirs = config.label_set
    if theirs == labels:
        return
    problems = []
    for name in ("intents", "actions", "objects", "locations"):
        a, b = getattr(theirs, name), getattr(labels, name)
        if a != b:
            only_teacher = [v for v in a if v not in b]
            only_corpus = [v for v in b if v not in a]
            detail = f"{name}: teacher has {len(a)}, {where} has {len(b)}"
            if only_teacher or only_corpus:
                detail += f" (only in teacher: {only_teacher[:3]}, only in {where}: {only_corpus[:3]})"
            else:
                detail += " (same values, different order)"
            problems.append(detail)
    raise TeacherLabelMismatch(
        f"the teacher's label set does not match {where}: " + "; ".join(problems) + ". Train a teacher on this corpus."
    )
