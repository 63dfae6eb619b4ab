"""The LSTM language model of paper 001 (Section 4.2): an embedding, stacked LSTM layers and an output layer.

The paper stacks four LSTM layers after the embedding layer and gives no widths; ours default to four layers of
128 units on 64-dimensional embeddings, scaled to a 2-core CPU (docs/lm-teachers.md has the measured speeds);
every size is configurable. Dropout (Zaremba et al. 2014) sits on the embedding output,
between LSTM layers and before the output layer.

A saved LM is a folder: ``config.json`` (kind ``lstm_lm``, the sizes, the unit and its inventory) and
``model.safetensors`` (tensors only: loading never unpickles code).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from crossdistill.common import fingerprint, fingerprint_file
from crossdistill.students.configs import config_from_dict, config_to_dict
from crossdistill.students.serialization import CONFIG_FILE, WEIGHTS_FILE, load_module_files, save_module_files
from crossdistill.teachers.lm.text import IGNORE_INDEX
from crossdistill.teachers.lm.vocabulary import UnitVocabulary

MODEL_KIND = "lstm_lm"


@dataclass
class LMConfig:
    """Everything needed to rebuild an LM; saved as ``config.json`` beside the weights.

    Fields:
      unit: ``senone``, ``phone`` or ``subword``. inventory: the unit symbols, id = index.
      units_key: the key of the units folder the LM was trained on (informational: an LM serves any units folder
        with the same inventory). units_dir: where that folder was.
      embedding_dim, hidden_dim, num_layers: sizes (paper 001: four LSTM layers). dropout: see the module docstring.
      The defaults of a training run are ``crossdistill.teachers.lm.config.LMModelOptions``.
    """

    unit: str
    inventory: tuple[str, ...]
    embedding_dim: int
    hidden_dim: int
    num_layers: int
    dropout: float
    units_key: str = ""
    units_dir: str = ""

    def __post_init__(self) -> None:
        self.inventory = tuple(self.inventory)
        for name in ("embedding_dim", "hidden_dim", "num_layers"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")

    @property
    def vocabulary(self) -> UnitVocabulary:
        return UnitVocabulary(self.unit, self.inventory)


class LSTMLanguageModel(nn.Module):
    """Teacher-forced next-unit logits: ids (B, L) -> logits (B, L, V + 1) over the units and ``</s>``."""

    def __init__(self, config: LMConfig) -> None:
        super().__init__()
        self.config = config
        size = config.vocabulary.output_size
        self.embedding = nn.Embedding(size, config.embedding_dim)
        self.lstm = nn.LSTM(
            config.embedding_dim,
            config.hidden_dim,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.hidden_dim, size)

    @property
    def vocabulary(self) -> UnitVocabulary:
        return self.config.vocabulary

    def forward(self, inputs: Tensor) -> Tensor:
        """Logits of every position; padding after a sentence's end does not change its earlier positions."""
        return self.output(self.hidden_states(inputs))

    def hidden_states(self, inputs: Tensor) -> Tensor:
        """The output layer's input (B, L, H), dropout applied: ``forward`` is ``output(hidden_states(inputs))``."""
        hidden, _ = self.lstm(self.dropout(self.embedding(inputs)))
        return self.dropout(hidden)

    def summed_cross_entropy(self, inputs: Tensor, targets: Tensor, max_logits: int = 2**22) -> Tensor:
        """Sum over positions of -log p(target), ignoring ``IGNORE_INDEX`` targets, with bounded memory.

        The logits (B, L, V + 1) of a batch of long sentences over a large inventory would take gigabytes (32
        senone sentences of 2,000 units: 256 MB per copy, several copies with the softmax and its gradient). They
        are made ``max_logits`` elements at a time along L; under autograd each chunk is checkpointed (its logits
        are recomputed in the backward pass), so memory stays bounded for any length at the cost of one more
        output-layer product. The value equals ``cross_entropy(forward(inputs), targets, reduction="sum")``.
        """
        hidden = self.hidden_states(inputs)
        step = max(1, max_logits // max(1, hidden.shape[0] * self.output.out_features))
        total = hidden.new_zeros(())
        for start in range(0, hidden.shape[1], step):
            chunk, chunk_targets = hidden[:, start : start + step], targets[:, start : start + step]
            if torch.is_grad_enabled():
                total = total + checkpoint(self._chunk_loss, chunk, chunk_targets, use_reentrant=False)
            else:
                total = total + self._chunk_loss(chunk, chunk_targets)
        return total

    def _chunk_loss(self, hidden: Tensor, targets: Tensor) -> Tensor:
        logits = self.output(hidden)
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="sum")

    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> None:
        save_module_files(self, directory, {"kind": MODEL_KIND, **config_to_dict(self.config)}, extra)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> LSTMLanguageModel:
        """Load a saved LM; a folder that holds no LM (or another kind of model) is a clear error."""
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"LM folder {directory} not found")
        try:
            config_dict, state = load_module_files(directory, expected_kind=MODEL_KIND)
        except FileNotFoundError as error:
            raise FileNotFoundError(f"{directory} is not a trained LM: {error}") from None
        except Exception as error:  # unreadable JSON or safetensors, another model kind, another format
            raise ValueError(f"{directory} is not a trained LM: {error}") from None
        config = config_from_dict(LMConfig, config_dict, f"{directory / CONFIG_FILE}")
        model = cls(config)
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            raise ValueError(f"{directory / WEIGHTS_FILE} does not fit {directory / CONFIG_FILE}: {error}") from None
        return model.eval()


def lm_fingerprint(directory: str | Path) -> str:
    """A key of a saved LM: its weights and its config (a retrained or edited LM gets a new key)."""
    directory = Path(directory)
    return fingerprint([fingerprint_file(directory / WEIGHTS_FILE), fingerprint_file(directory / CONFIG_FILE)])
