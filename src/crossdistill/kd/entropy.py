"""Teacher entropy (paper 000, eqs. 2 and 3)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from crossdistill.kd.checks import check_logits, check_probabilities


def entropy(probs: Tensor) -> Tensor:
    """H(T) = -sum_i t_i log t_i over the last axis (eq. 2), with 0 log 0 = 0."""
    check_probabilities("probs", probs)
    return -torch.special.xlogy(probs, probs).sum(dim=-1)


def normalized_entropy(probs: Tensor) -> Tensor:
    """H_C(T) = H(T) / log C (eq. 3): 0 for a one-hot distribution, 1 for the uniform one."""
    return entropy(probs) / math.log(probs.shape[-1])


def normalized_entropy_from_logits(logits: Tensor) -> Tensor:
    """``normalized_entropy(softmax(logits))`` computed stably in log space."""
    check_logits("logits", logits)
    log_p = F.log_softmax(logits, dim=-1)
    return -(log_p.exp() * log_p).sum(dim=-1) / math.log(logits.shape[-1])
