"""Teacher outputs for a list of transcripts: logits per head, normalized entropy (paper 000, eq. 3) and
dropout confidence D (eq. 4).

D is a Monte-Carlo estimate; its N dropout masks are drawn from a generator seeded by (seed, head, text), so
a transcript's D does not depend on which other transcripts share its batch or the corpus. That is what
makes "once per unique transcript, fanned out" give the same values as "once per utterance".
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor
from tqdm.auto import tqdm

from crossdistill.common import fingerprint
from crossdistill.common.progress import show_progress
from crossdistill.kd import (
    DEFAULT_DROPOUT_SITE,
    DEFAULT_N_MASKS,
    DEFAULT_P,
    DROPOUT_SITES,
    dropout_confidence,
    normalized_entropy,
)
from crossdistill.teachers.text.examples import normalize_transcript
from crossdistill.teachers.text.model import TextTeacher


@torch.no_grad()
def predict(
    teacher: TextTeacher, texts: Sequence[str], batch_size: int = 64, progress: bool = False
) -> tuple[dict[str, Tensor], Tensor]:
    """Run the teacher (in eval mode) on ``texts``; return ({head: logits (N, C)}, dense features (N, F)).

    Texts are normalized, then batched in order of length so that padding stays short; rows come back in
    the input order.
    """
    was_training = teacher.training
    teacher.eval()
    texts = [normalize_transcript(t) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
    logits = {h: torch.empty(len(texts), n) for h, n in teacher.config.head_sizes().items()}
    features = torch.empty(len(texts), teacher.config.dense_dim)
    try:
        for start in tqdm(
            range(0, len(texts), batch_size), desc="teacher", unit="batch", disable=not show_progress(progress)
        ):
            rows = order[start : start + batch_size]
            batch_features = teacher.features(**teacher.tokenize([texts[i] for i in rows]))
            index = torch.tensor(rows)
            features[index] = batch_features.float().cpu()
            for name, head in teacher.heads.items():
                logits[name][index] = head(batch_features).float().cpu()
    finally:
        teacher.train(was_training)
    return logits, features


def mask_generator(seed: int, head: str, text: str) -> torch.Generator:
    """Return the generator of the dropout masks for one (head, normalized transcript)."""
    key = int(fingerprint({"seed": seed, "head": head, "text": text}), 16) & ((1 << 63) - 1)
    return torch.Generator().manual_seed(key)


@torch.no_grad()
def compute_teacher_outputs(
    teacher: TextTeacher,
    texts: Sequence[str],
    n_masks: int = DEFAULT_N_MASKS,
    p: float = DEFAULT_P,
    seed: int = 0,
    dropout_site: str = DEFAULT_DROPOUT_SITE,
    batch_size: int = 64,
    progress: bool = False,
) -> dict[str, Tensor]:
    """Return ``logits/<head>`` (N, C), ``entropy/<head>`` (N,) and ``confidence/<head>`` (N,) for ``texts``.

    Args:
      n_masks, p: N and p of eq. 4 (the paper uses 100 and 0.1).
      seed: seeds the dropout masks (per head and transcript, see the module docstring).
      dropout_site: which reading of D (``crossdistill.kd.DROPOUT_SITES``): the default drops T's centred
        logits; ``features`` drops the dense features that feed each head and re-applies that head (see
        ``crossdistill.kd.confidence``).
    """
    if dropout_site not in DROPOUT_SITES:
        raise ValueError(f"dropout_site must be one of {DROPOUT_SITES}, got {dropout_site!r}")
    normalized = [normalize_transcript(t) for t in texts]
    logits, features = predict(teacher, normalized, batch_size=batch_size, progress=progress)
    outputs: dict[str, Tensor] = {}
    for name, head_logits in logits.items():
        outputs[f"logits/{name}"] = head_logits
        outputs[f"entropy/{name}"] = normalized_entropy(torch.softmax(head_logits.double(), dim=-1)).float()
        head = copy.deepcopy(teacher.heads[name]).float().cpu()  # a copy: never move the teacher itself
        confidence = torch.empty(len(normalized))
        for i, text in enumerate(tqdm(normalized, desc=f"D {name}", unit="text", disable=not show_progress(progress))):
            generator = mask_generator(seed, name, text)
            if dropout_site == "features":
                value = dropout_confidence(
                    None, n_masks, p, generator, site="features", features=features[i : i + 1], head=head
                )
            else:
                value = dropout_confidence(head_logits[i : i + 1], n_masks, p, generator, site=dropout_site)
            confidence[i] = value[0]
        outputs[f"confidence/{name}"] = confidence
    return outputs
