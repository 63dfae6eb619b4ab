"""Dropout-based teacher confidence D (paper 000, eq. 4).

D_{C,Q,p}(T) = (1/N) * sum_n KL(T || q_n(T)): how far the teacher's distribution T moves when N independent
dropout layers q_n of rate p perturb it. A small D means a robust, confident teacher.

Eq. 4 writes D as a function of T alone, but not what the dropout drops ("a dropout augmented to the teacher
model's output layer"). The *site* names that reading (docs/distillation-core.md compares them):

- ``centred_logits`` (default): q_n(T) = softmax(dropout_p(log T - mean(log T))). T's logits are defined up to
  a constant; centring fixes it as a function of T, so D depends on T only, and a dropped class moves to the
  average (geometric-mean) evidence level, neither promoted nor demoted.
- ``log_probs``: q_n(T) = softmax(dropout_p(log T)). Also T-only, but every log-probability is <= 0, so a
  dropped class (set to 0) jumps to the top: D mostly counts dropped classes and grows with C.
- ``probs``: q_n(T) = T with dropped classes removed and renormalized, the literal "dropout on T". KL(T || q_n)
  is infinite whenever a class is dropped, so this reading compares the other way, KL(q_n || T), which equals
  -log(kept probability mass). Masks that drop every class leave q_n undefined and are skipped.
- ``raw_logits``: q_n(T) = softmax(dropout_p(z)) on the logits as the teacher emitted them. Not a function of T:
  adding a constant to every logit leaves T unchanged but changes D.
- ``features``: q_n(T) = softmax(head(dropout_p(h))): the hidden features h feeding the output layer are dropped
  and the layer re-applied. Needs the teacher's features and head, not only its outputs.

All are computed for the whole batch and all N masks in one vectorized pass (chunked over masks only when the
tensor would exceed ``max_elements``), and are reproducible given a seed or ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from crossdistill.kd.checks import check_logits, check_positive_int, check_probability_rate

DEFAULT_N_MASKS = 100  # paper 000: "we fixed N to 100"
DEFAULT_P = 0.1  # paper 000: "and p to 0.1"
_MAX_ELEMENTS = 1 << 25  # ~128 MiB of float32 per chunk of perturbed copies


def centre_logits(logits: Tensor) -> Tensor:
    """log T - mean(log T): the logits of T with their free constant fixed (mean 0 over classes)."""
    return logits - logits.mean(dim=-1, keepdim=True)


# Sites whose dropout acts on a vector of logits: the map from the teacher's logits to the vector dropped.
LOGIT_SITES: dict[str, Callable[[Tensor], Tensor]] = {
    "centred_logits": centre_logits,
    "log_probs": lambda logits: F.log_softmax(logits, dim=-1),
    "raw_logits": lambda logits: logits,
}
DROPOUT_SITES = ("centred_logits", "log_probs", "probs", "raw_logits", "features")
T_ONLY_SITES = ("centred_logits", "log_probs", "probs")  # D depends on the distribution T alone
DEFAULT_DROPOUT_SITE = "centred_logits"


def check_site(site: str) -> None:
    if site not in DROPOUT_SITES:
        raise ValueError(f"unknown dropout site {site!r}; known: {', '.join(DROPOUT_SITES)}")


def sample_dropout_masks(
    shape: tuple[int, ...],
    n_masks: int,
    p: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """N independent inverted-dropout masks of ``shape``: entries 0 with probability p, else 1 / (1 - p)."""
    check_positive_int("n_masks", n_masks)
    check_probability_rate("p", p)
    draw_device = generator.device if generator is not None else device
    uniform = torch.rand((n_masks, *shape), generator=generator, device=draw_device)
    keep = (uniform >= p).to(dtype) / (1.0 - p)
    return keep.to(device) if device is not None else keep


def kl_to_perturbed(log_p: Tensor, perturbed_logits: Tensor) -> Tensor:
    """KL(T || q) summed over classes, for T given by ``log_p`` (..., C) and q = softmax(perturbed) (N, ..., C)."""
    log_q = F.log_softmax(perturbed_logits, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(dim=-1)


def _divergence_sums(log_p: Tensor, logits: Tensor, masks: Tensor, site: str) -> tuple[Tensor, Tensor]:
    """Sum over the masks (N, ..., C) of each perturbation's divergence, and how many masks counted; both (...)."""
    if site == "probs":
        # Renormalized q = T restricted to the kept classes: KL(q || T) = -log(kept mass), in log space.
        log_kept = torch.logsumexp(log_p.unsqueeze(0).masked_fill(masks == 0, float("-inf")), dim=-1)
        defined = torch.isfinite(log_kept)
        return torch.where(defined, -log_kept, 0.0).sum(dim=0), defined.sum(dim=0)
    dropped = LOGIT_SITES[site](logits).unsqueeze(0) * masks
    divergences = kl_to_perturbed(log_p, dropped)
    return divergences.sum(dim=0), torch.full(divergences.shape[1:], masks.shape[0], device=logits.device)


def _mean_over_masks(total: Tensor, counted: Tensor) -> Tensor:
    if (counted == 0).any():
        raise ValueError("every dropout mask dropped all classes of some row: raise n_masks or lower p")
    return total / counted


def dropout_confidence_from_masks(logits: Tensor, masks: Tensor, site: str = DEFAULT_DROPOUT_SITE) -> Tensor:
    """D for given masks (N, ..., C) applied at ``site`` to ``logits`` (..., C); returns (...)."""
    check_logits("logits", logits)
    check_site(site)
    if site == "features":
        raise ValueError("the features site needs features and a head: use dropout_confidence_from_features")
    if masks.shape[1:] != logits.shape:
        raise ValueError(f"masks must have shape (N, *{tuple(logits.shape)}), got {tuple(masks.shape)}")
    logits = logits.detach()
    return _mean_over_masks(*_divergence_sums(F.log_softmax(logits, dim=-1), logits, masks, site))


def dropout_confidence(
    logits: Tensor | None,
    n_masks: int = DEFAULT_N_MASKS,
    p: float = DEFAULT_P,
    generator: torch.Generator | None = None,
    *,
    site: str = DEFAULT_DROPOUT_SITE,
    features: Tensor | None = None,
    head: Callable[[Tensor], Tensor] | None = None,
    max_elements: int = _MAX_ELEMENTS,
) -> Tensor:
    """Dropout-based confidence D of each teacher distribution: logits (..., C) -> D (...).

    ``site`` is where the dropout acts (see the module docstring); ``features`` and ``head`` are needed by, and
    only accepted with, ``site="features"`` (see :func:`dropout_confidence_from_features`).
    """
    check_site(site)
    if site == "features":
        if head is None or features is None:
            raise ValueError("the features site needs both features and head")
        return dropout_confidence_from_features(features, head, n_masks, p, generator, max_elements=max_elements)
    if head is not None or features is not None:
        raise ValueError(f"features and head are only used by site='features', not {site!r}")
    check_logits("logits", logits)
    check_positive_int("n_masks", n_masks)
    check_probability_rate("p", p)
    logits = logits.detach()
    log_p = F.log_softmax(logits, dim=-1)
    total = torch.zeros(logits.shape[:-1], dtype=log_p.dtype, device=logits.device)
    counted = torch.zeros(logits.shape[:-1], dtype=torch.long, device=logits.device)
    for count in _chunks(n_masks, logits.numel(), max_elements):
        masks = sample_dropout_masks(tuple(logits.shape), count, p, generator, logits.device, logits.dtype)
        chunk_total, chunk_counted = _divergence_sums(log_p, logits, masks, site)
        total += chunk_total
        counted += chunk_counted
    return _mean_over_masks(total, counted)


@torch.no_grad()
def dropout_confidence_from_features(
    features: Tensor,
    head: Callable[[Tensor], Tensor],
    n_masks: int = DEFAULT_N_MASKS,
    p: float = DEFAULT_P,
    generator: torch.Generator | None = None,
    *,
    max_elements: int = _MAX_ELEMENTS,
) -> Tensor:
    """D with dropout on the hidden features h (..., H) that the output layer ``head`` maps to logits."""
    check_positive_int("n_masks", n_masks)
    check_probability_rate("p", p)
    if not torch.isfinite(features).all():
        raise ValueError("features contains non-finite values (nan or inf)")
    logits = head(features)
    check_logits("head(features)", logits)
    log_p = F.log_softmax(logits, dim=-1)
    total = torch.zeros(logits.shape[:-1], dtype=log_p.dtype, device=logits.device)
    per_mask = max(features.numel(), logits.numel())
    for count in _chunks(n_masks, per_mask, max_elements):
        masks = sample_dropout_masks(tuple(features.shape), count, p, generator, features.device, features.dtype)
        total += kl_to_perturbed(log_p, head(features.unsqueeze(0) * masks)).sum(dim=0)
    return total / n_masks


def _chunks(n_masks: int, elements_per_mask: int, max_elements: int) -> list[int]:
    """Split N masks into chunks whose perturbed copies stay under ``max_elements`` (one chunk when small)."""
    per_chunk = max(1, max_elements // max(1, elements_per_mask))
    return [min(per_chunk, n_masks - start) for start in range(0, n_masks, per_chunk)]
