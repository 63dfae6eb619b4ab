"""Time schedules of the distillation weight lambda (paper 000, eq. 6). Epochs are counted from 1."""

from __future__ import annotations

import math

from crossdistill.kd.checks import check_positive_int
from crossdistill.kd.registry import SCHEDULES

TRIANGULAR_PEAK = 0.1  # paper 000, eq. 6b


def exp_decay(epoch: int) -> float:
    """lambda_t = exp(1 - t) (eq. 6a): 1 at the first epoch, then decaying so the student adapts to speech."""
    check_positive_int("epoch", epoch)
    return math.exp(1 - epoch)


def triangular(epoch: int, max_epoch: int, peak: float = TRIANGULAR_PEAK) -> float:
    """lambda_t = peak * max(0, 1 - |t - mu| / (0.5 mu)), mu = T / 2 (eq. 6b): strongest mid-training.

    It is 0 up to t = mu / 2, rises to ``peak`` at t = mu and is 0 again from t = 3 mu / 2 on.
    """
    check_positive_int("epoch", epoch)
    check_positive_int("max_epoch", max_epoch)
    mu = max_epoch / 2
    return peak * max(0.0, 1.0 - abs(epoch - mu) / (0.5 * mu))


def linear_ramp(epoch: int, max_epoch: int, start: float = 0.0, end: float = 1.0) -> float:
    """Linear interpolation from ``start`` at epoch 1 to ``end`` at ``max_epoch``."""
    check_positive_int("epoch", epoch)
    check_positive_int("max_epoch", max_epoch)
    if max_epoch == 1:
        return end
    fraction = min(1.0, (epoch - 1) / (max_epoch - 1))
    return start + (end - start) * fraction


# Registered schedules share one signature, (epoch, max_epoch, **params) -> float, so a policy can call any.
@SCHEDULES.register("constant")
def constant_schedule(epoch: int, max_epoch: int, value: float = 1.0) -> float:
    return float(value)


@SCHEDULES.register("exp_decay")
def exp_decay_schedule(epoch: int, max_epoch: int) -> float:
    return exp_decay(epoch)


@SCHEDULES.register("triangular")
def triangular_schedule(epoch: int, max_epoch: int, peak: float = TRIANGULAR_PEAK) -> float:
    return triangular(epoch, max_epoch, peak)


@SCHEDULES.register("linear")
def linear_schedule(epoch: int, max_epoch: int, start: float = 0.0, end: float = 1.0) -> float:
    return linear_ramp(epoch, max_epoch, start, end)
