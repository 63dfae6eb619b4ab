"""The intent module of Lugosch et al. (2019): bi-GRU -> dropout -> linear per frame -> max-pool over time.

Heads. The supervised output is either one head over the intents (``{"intent": 31}`` on FSC) or one head
per slot (``{"action": 6, "object": 14, "location": 4}``, Lugosch's setting, where an utterance counts as
correct only when all three slots are right). Lugosch's single linear layer over the concatenated slot
values is exactly one linear per slot, so each head here is its own linear layer over the shared GRU.
Auxiliary heads (paper 001's multi-task distillation) are further linear layers over the same recurrent
states, kept apart from the supervised heads so that a distillation term can target its own outputs.
Every head returns utterance-level logits ``(B, C)``: the maximum over valid frames of its frame logits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from crossdistill.students.masking import check_lengths, masked_max_over_time, run_packed_rnn

SLOT_HEADS = ("action", "object", "location")
SUPERVISED_MODES = ("slots", "intent")


@dataclass
class IntentConfig:
    """Sizes and outputs of the intent module.

    Fields:
      hidden: GRU hidden size per direction (128 in Lugosch).
      bidirectional: bidirectional GRU (True in Lugosch).
      dropout: dropout on the GRU outputs (0.5 in Lugosch).
      heads: supervised heads, name -> number of classes (see :func:`supervised_heads`).
      aux_heads: auxiliary (distillation) heads, name -> number of classes; names differ from ``heads``.
    """

    hidden: int = 128
    bidirectional: bool = True
    dropout: float = 0.5
    heads: dict[str, int] = field(default_factory=dict)
    aux_heads: dict[str, int] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if not self.heads:
            raise ValueError("intent module needs at least one supervised head (heads: {name: n_classes})")
        clash = sorted(set(self.heads) & set(self.aux_heads))
        if clash:
            raise ValueError(f"head names {clash} appear in both heads and aux_heads")
        for name, size in {**self.heads, **self.aux_heads}.items():
            if not isinstance(size, int) or size < 1:
                raise ValueError(f"head {name!r} needs a positive number of classes, got {size!r}")


def supervised_heads(labels, mode: str = "slots") -> dict[str, int]:
    """Return the supervised heads for a label set: one per slot ("slots") or one over intents ("intent").

    ``labels`` is a :class:`crossdistill.data.corpus.LabelSet` (anything with ``slot_values`` and
    ``intents``); the class counts come from its training-split vocabularies.
    """
    if mode == "slots":
        return {slot: len(labels.slot_values(slot)) for slot in SLOT_HEADS}
    if mode == "intent":
        return {"intent": len(labels.intents)}
    raise ValueError(f"unknown supervised head mode {mode!r}; choose one of {list(SUPERVISED_MODES)}")


class IntentModule(nn.Module):
    """Utterance classifier over a sequence of acoustic features ``(B, T, D)``."""

    def __init__(self, input_dim: int, config: IntentConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.rnn = nn.GRU(input_dim, config.hidden, batch_first=True, bidirectional=config.bidirectional)
        self.dropout = nn.Dropout(config.dropout)
        state_dim = config.hidden * (2 if config.bidirectional else 1)
        self.heads = nn.ModuleDict({name: nn.Linear(state_dim, n) for name, n in config.heads.items()})
        self.aux_heads = nn.ModuleDict({name: nn.Linear(state_dim, n) for name, n in config.aux_heads.items()})

    @property
    def head_names(self) -> list[str]:
        """Every head, supervised first, in config order."""
        return [*self.heads.keys(), *self.aux_heads.keys()]

    def encode(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Return the recurrent states ``(B, T, 2 * hidden)`` after dropout (zero past each length)."""
        check_lengths(lengths, x.shape[0], x.shape[1], "intent module input")
        return self.dropout(run_packed_rnn(self.rnn, x, lengths))

    def forward(self, x: Tensor, lengths: Tensor) -> dict[str, Tensor]:
        """Return ``{head name: logits (B, C)}`` for every supervised and auxiliary head."""
        states = self.encode(x, lengths)
        heads = {**self.heads, **self.aux_heads}
        return {name: masked_max_over_time(layer(states), lengths) for name, layer in heads.items()}


def utterance_correct(logits: Mapping[str, Tensor], targets: Mapping[str, Tensor]) -> Tensor:
    """Return a bool ``(B,)``: True where every head named in ``targets`` predicts its target.

    With the three slot heads this is Lugosch's accuracy (all slots right); with one intent head it is
    plain intent accuracy.
    """
    if not targets:
        raise ValueError("utterance_correct needs at least one target head")
    missing = sorted(set(targets) - set(logits))
    if missing:
        raise ValueError(f"no logits for target head(s) {missing}; have {sorted(logits)}")
    checks = [logits[name].argmax(dim=-1) == target for name, target in targets.items()]
    return torch.stack(checks).all(dim=0)
