"""Training objectives: the supervised loss plus a list of distillation terms, or LST label interpolation.

One **distillation term** = (which teacher output, which student head, which distance, which weight policy).
Paper 000 is one term on the intent logits; paper 001's multi-task distillation is one auxiliary student head per
teacher LM, each with its own output units, summed with the supervised loss; paper 001's baseline, LST, replaces
the supervised target by an interpolation of the one-hot label and the teacher's softened distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from crossdistill.kd.checks import check_logits, check_mask
from crossdistill.kd.combine import COMBINATIONS
from crossdistill.kd.decisions import DecisionInputs
from crossdistill.kd.distances import DISTANCES
from crossdistill.kd.policy import WeightPolicy
from crossdistill.kd.reduction import reduce_per_sample
from crossdistill.kd.registry import Registry

OBJECTIVES: Registry[type] = Registry("objective")


def supervised_cross_entropy(logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
    """Per-sample cross-entropy, (B, C) or frame-wise (B, T, C) with targets (B,) or (B, T) -> (B,)."""
    check_logits("logits", logits)
    check_mask(mask, logits)
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets must have shape {tuple(logits.shape[:-1])}, got {tuple(targets.shape)}")
    safe_targets = targets if mask is None else targets.masked_fill(~mask, 0)
    ce = F.cross_entropy(logits.movedim(-1, 1), safe_targets, reduction="none")
    return reduce_per_sample(ce, mask)


def lst_target(targets: Tensor, teacher_logits: Tensor, alpha: float, temperature: float = 1.0) -> Tensor:
    """(1 - alpha) * one_hot(targets) + alpha * softmax(teacher / T) (paper 001, eq. 3)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    check_logits("teacher_logits", teacher_logits)
    one_hot = F.one_hot(targets.clamp_min(0), teacher_logits.shape[-1]).to(teacher_logits.dtype)
    soft = F.softmax(teacher_logits.detach() / temperature, dim=-1)
    return (1 - alpha) * one_hot + alpha * soft


def lst_loss(
    student_logits: Tensor,
    targets: Tensor,
    teacher_logits: Tensor,
    alpha: float,
    temperature: float = 1.0,
    mask: Tensor | None = None,
) -> Tensor:
    """Per-sample cross-entropy of the student against the LST interpolated target -> (B,)."""
    check_logits("student_logits", student_logits)
    check_mask(mask, student_logits)
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            "LST needs teacher and student to share output units: shapes "
            f"{tuple(student_logits.shape)} vs {tuple(teacher_logits.shape)}"
        )
    target = lst_target(targets, teacher_logits, alpha, temperature)
    ce = -(target * F.log_softmax(student_logits, dim=-1)).sum(dim=-1)
    return reduce_per_sample(ce, mask)


@dataclass(frozen=True)
class DistillationTerm:
    """One teacher output distilled into one student head.

    teacher_output: key of the teacher tensor (e.g. ``logits/intent`` from the teacher cache).
    student_head: key of the student's output logits (the supervised head, or an auxiliary KD head).
    distance: registered distance name (``l1`` is paper 000's default).
    policy: how lambda is set (schedule x decision).
    temperature: for ``kl`` and ``soft_ce``.
    entropy_key / confidence_key: teacher tensors feeding the ``entropy`` / ``dropout`` decisions; by default the
        teacher_output key with ``logits`` replaced by ``entropy`` / ``confidence``.
    """

    teacher_output: str
    student_head: str
    distance: str = "l1"
    policy: WeightPolicy = field(default_factory=WeightPolicy)
    temperature: float = 1.0
    entropy_key: str | None = None
    confidence_key: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        DISTANCES.get(self.distance)
        _require_number(self.temperature, f"temperature of term {self.label}")
        if not self.temperature > 0:
            raise ValueError(f"temperature of term {self.label} must be > 0, got {self.temperature}")

    @property
    def label(self) -> str:
        return self.name or f"{self.teacher_output}->{self.student_head}"

    def teacher_key(self, kind: str) -> str:
        explicit = {"entropy": self.entropy_key, "confidence": self.confidence_key}[kind]
        return explicit or self.teacher_output.replace("logits", kind, 1)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DistillationTerm:
        config = dict(config)
        policy = WeightPolicy.from_config(config.pop("policy", None))
        allowed = {"teacher_output", "student_head", "distance", "temperature", "entropy_key", "confidence_key", "name"}
        unknown = set(config) - allowed
        if unknown:
            raise ValueError(f"unknown distillation-term keys: {sorted(unknown)}")
        return cls(policy=policy, **config)


@dataclass
class LossBreakdown:
    """The total loss and its parts, for the optimizer and for logging.

    total: scalar to back-propagate. supervised: batch mean of the supervised loss. kd: batch mean of each term's
    distance. lambdas: each term's per-sample lambda (B,), detached.
    """

    total: Tensor
    supervised: Tensor
    kd: dict[str, Tensor] = field(default_factory=dict)
    lambdas: dict[str, Tensor] = field(default_factory=dict)


@dataclass
class StepContext:
    """What an objective needs to know about the current step besides the outputs.

    epoch is counted from 1; student_correct is (B,) bool (for the error-rate decision); masks maps a student head
    to its (B, T) padding mask for frame-wise heads.
    """

    epoch: int
    max_epoch: int
    student_correct: Tensor | None = None
    masks: dict[str, Tensor] = field(default_factory=dict)


@OBJECTIVES.register("terms")
@dataclass
class DistillationObjective:
    """Supervised loss combined with a sum of distillation terms, (1a) weighted or (1b) additive."""

    terms: list[DistillationTerm] = field(default_factory=list)
    combination: str = "weighted"

    def __post_init__(self) -> None:
        COMBINATIONS.get(self.combination)

    @property
    def active_terms(self) -> list[DistillationTerm]:
        return [term for term in self.terms if not term.policy.is_off]

    def teacher_keys(self) -> set[str]:
        """Every teacher tensor this objective will read."""
        keys: set[str] = set()
        for term in self.active_terms:
            keys.add(term.teacher_output)
            if term.policy.decision == "entropy":
                keys.add(term.teacher_key("entropy"))
            if term.policy.decision == "dropout":
                keys.add(term.teacher_key("confidence"))
        return keys

    def compute_loss(
        self,
        supervised: Tensor,
        student_outputs: dict[str, Tensor],
        teacher_outputs: dict[str, Tensor],
        context: StepContext,
    ) -> LossBreakdown:
        """Combine the per-sample supervised loss (B,) with every active term."""
        batch_size = supervised.shape[0]
        kd_terms, lambdas, breakdown = [], [], LossBreakdown(total=supervised.mean(), supervised=supervised.mean())
        for term in self.active_terms:
            student = _lookup(student_outputs, term.student_head, "student head")
            teacher = _lookup(teacher_outputs, term.teacher_output, "teacher output").to(student)
            distance = DISTANCES.get(term.distance)(
                student, teacher, mask=context.masks.get(term.student_head), temperature=term.temperature
            )
            inputs = DecisionInputs(
                batch_size=batch_size,
                student_correct=context.student_correct,
                teacher_entropy=teacher_outputs.get(term.teacher_key("entropy")),
                teacher_confidence=teacher_outputs.get(term.teacher_key("confidence")),
            )
            lam = term.policy.compute_lambda(context.epoch, context.max_epoch, inputs).to(distance)
            kd_terms.append(distance)
            lambdas.append(lam)
            breakdown.kd[term.label] = distance.mean().detach()
            breakdown.lambdas[term.label] = lam.detach()
        if kd_terms:
            breakdown.total = COMBINATIONS.get(self.combination)(supervised, kd_terms, lambdas).mean()
        return breakdown


@OBJECTIVES.register("lst")
@dataclass
class LabelInterpolationObjective:
    """LST (paper 001, eqs. 2-3): the supervised head learns the interpolated target; no separate KD head."""

    teacher_output: str
    student_head: str
    alpha: float = 0.5
    temperature: float = 5.0  # paper 001 fixes T = 5 in its LST sweep

    def __post_init__(self) -> None:
        _require_number(self.alpha, "alpha")
        _require_number(self.temperature, "temperature")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    def teacher_keys(self) -> set[str]:
        return {self.teacher_output}

    def compute_loss(
        self,
        targets: Tensor,
        student_outputs: dict[str, Tensor],
        teacher_outputs: dict[str, Tensor],
        context: StepContext,
    ) -> LossBreakdown:
        student = _lookup(student_outputs, self.student_head, "student head")
        teacher = _lookup(teacher_outputs, self.teacher_output, "teacher output").to(student)
        mask = context.masks.get(self.student_head)
        per_sample = lst_loss(student, targets, teacher, self.alpha, self.temperature, mask)
        plain = supervised_cross_entropy(student, targets, mask).detach()
        lam = torch.full_like(per_sample, self.alpha).detach()
        return LossBreakdown(
            total=per_sample.mean(),
            supervised=plain.mean(),
            kd={"lst": per_sample.mean().detach()},
            lambdas={"lst": lam},
        )


def build_objective(config: dict[str, Any] | None) -> DistillationObjective | LabelInterpolationObjective:
    """Build an objective from a config mapping: ``{"type": "terms", "combination": ..., "terms": [...]}`` or
    ``{"type": "lst", "teacher_output": ..., "student_head": ..., "alpha": ..., "temperature": ...}``."""
    config = dict(config or {})
    kind = config.pop("type", "terms")
    cls = OBJECTIVES.get(kind)
    if cls is DistillationObjective:
        terms = [DistillationTerm.from_config(term) for term in config.pop("terms", []) or []]
        unknown = set(config) - {"combination"}
        if unknown:
            raise ValueError(f"unknown objective keys: {sorted(unknown)}")
        return DistillationObjective(terms=terms, combination=config.get("combination", "weighted"))
    return cls(**config)


def _require_number(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")


def _lookup(outputs: dict[str, Tensor], key: str, what: str) -> Tensor:
    try:
        return outputs[key]
    except KeyError:
        raise ValueError(f"{what} {key!r} not found; available: {sorted(outputs)}") from None
