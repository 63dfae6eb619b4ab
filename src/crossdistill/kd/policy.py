"""Weight policies: lambda = scale * schedule(epoch) * decision(batch), each factor optional.

This covers every row of paper 000's Table I: a schedule alone (6a, 6b), a decision alone (7a-c), or their product
(the bottom rows). A policy with ``scale = 0`` is no distillation at all, the vanilla baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from crossdistill.kd.decisions import DecisionInputs
from crossdistill.kd.registry import DECISIONS, SCHEDULES


@dataclass(frozen=True)
class WeightPolicy:
    """How much a distillation term counts at a given epoch and batch.

    schedule: a registered schedule name (``constant``, ``exp_decay``, ``triangular``, ``linear``) or None.
    schedule_params: extra keyword arguments of the schedule (``peak`` of ``triangular``, ``value`` of ``constant``).
    decision: a registered weight decision (``error_rate``, ``entropy``, ``dropout``) or None.
    scale: a constant factor; with neither schedule nor decision, lambda is this constant.
    """

    schedule: str | None = None
    schedule_params: dict[str, Any] = field(default_factory=dict)
    decision: str | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.schedule is not None:
            SCHEDULES.get(self.schedule)
        if self.decision is not None:
            DECISIONS.get(self.decision)
        if self.scale < 0:
            raise ValueError(f"scale must be >= 0, got {self.scale}")

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> WeightPolicy:
        config = dict(config or {})
        unknown = set(config) - {"schedule", "schedule_params", "decision", "scale"}
        if unknown:
            raise ValueError(f"unknown weight-policy keys: {sorted(unknown)}")
        return cls(
            schedule=config.get("schedule"),
            schedule_params=dict(config.get("schedule_params") or {}),
            decision=config.get("decision"),
            scale=float(config.get("scale", 1.0)),
        )

    @property
    def is_off(self) -> bool:
        """True when lambda is identically 0 (vanilla): the term need not be computed at all."""
        return self.scale == 0

    def describe(self) -> str:
        parts = [p for p in (self.schedule, self.decision) if p]
        text = " x ".join(parts) if parts else "constant"
        return text if self.scale == 1 else f"{self.scale:g} * {text}"

    def scheduled_factor(self, epoch: int, max_epoch: int) -> float:
        """The time-dependent factor scale * schedule(epoch) (1 when there is no schedule)."""
        if self.schedule is None:
            return self.scale
        return self.scale * SCHEDULES.get(self.schedule)(epoch, max_epoch, **self.schedule_params)

    def compute_lambda(self, epoch: int, max_epoch: int, inputs: DecisionInputs) -> Tensor:
        """lambda for every sample of the batch, shape (B,)."""
        factor = self.scheduled_factor(epoch, max_epoch)
        device = _device_of(inputs)
        if self.decision is None:
            return torch.full((inputs.batch_size,), factor, device=device)
        return factor * DECISIONS.get(self.decision)(inputs).to(device)


def _device_of(inputs: DecisionInputs) -> torch.device:
    for value in (inputs.student_correct, inputs.teacher_entropy, inputs.teacher_confidence):
        if value is not None:
            return value.device
    return torch.device("cpu")
