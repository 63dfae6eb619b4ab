"""Batched beam search with length normalization over the seq2seq model's supervised head.

Every utterance of a batch keeps ``beam`` running hypotheses; one decoder call per step scores all of them at once
(utterances x beams stacked on the batch axis, finished utterances dropped from the stack). Per step, the ``2 *
beam`` best extensions of an utterance are examined in score order (as fairseq does): an extension by ``</s>``
among the first ``beam`` of them ends a hypothesis, the first ``beam`` other extensions are the new running beam.
An utterance is done when ``beam`` hypotheses have ended, or when its hypotheses reach the length limit (its number
of encoder frames, ESPnet's default, capped by ``max_tokens``), where each running hypothesis is ended with
``</s>``. The answer is the ended hypothesis with the best length-normalized score ``log P(y) / |y|^alpha``
(|y| counts ``</s>``; alpha = ``length_penalty``, 0 = raw log-probability, which favours short outputs).

Only the supervised head is read: the KD head of paper 001 eq. 4 serves training alone.

**Joint CTC/attention decoding** (``ctc_weight`` = w > 0; ESPnet's ``ctc_weight`` at decoding; the model needs its CTC
layer): each running hypothesis pre-selects its ``ceil(1.5 * beam)`` best next tokens by the attention decoder
(ESPnet's pre-beam), and each is scored ``(1 - w) * log P_att(c | h) + w * (log psi(h + c) - log psi(h))`` with psi
the CTC prefix probability (``ctc_prefix``); the other tokens are not extended. A finished hypothesis then scores
``(1 - w) * log P_att(y) + w * log P_ctc(y)``, which length normalization divides as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from crossdistill.students.asr.seq2seq.ctc_prefix import CTCPrefixScorer, PrefixState
from crossdistill.students.asr.seq2seq.model import CTC_BLANK, SUPERVISED_HEAD, Seq2SeqASR


@dataclass(frozen=True)
class Hypothesis:
    """A decoded utterance: ``tokens`` (subword ids, without ``<s>`` and ``</s>``), ``score`` (log P(y), ``</s>``
    included; with joint CTC decoding the weighted sum of the attention and CTC log-probabilities) and ``normalized``
    (score / |y|^alpha)."""

    tokens: tuple[int, ...]
    score: float
    normalized: float


def check_search_options(beam: int, length_penalty: float, max_tokens: int, ctc_weight: float = 0.0) -> None:
    if int(beam) != beam or beam < 1:
        raise ValueError(f"beam must be an integer >= 1, got {beam}")
    if length_penalty < 0:
        raise ValueError(f"length_penalty must be >= 0, got {length_penalty}")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    if not 0.0 <= ctc_weight < 1.0:
        raise ValueError(f"decode ctc_weight must lie in [0, 1), got {ctc_weight}")


class JointCTC:
    """The CTC side of joint decoding: the batch's prefix scorer and each running hypothesis' state."""

    def __init__(self, model: Seq2SeqASR, memory: Tensor, memory_mask: Tensor, weight: float, beam: int) -> None:
        if model.ctc is None:
            raise ValueError("joint CTC decoding needs a model trained with its CTC layer (ctc_weight > 0)")
        log_probs = torch.log_softmax(model.ctc(memory).float(), dim=-1).cpu().numpy()
        frames = memory_mask.sum(dim=1).tolist()
        eos = model.config.eos_id
        self.scorer = CTCPrefixScorer(log_probs, CTC_BLANK, eos, frames)
        self.states = [[self.scorer.initial(b)] * beam for b in range(len(frames))]  # utterance -> slot -> state
        self.weight, self.pre_beam, self.eos = weight, min(math.ceil(1.5 * beam), log_probs.shape[-1]), eos
        self.pending: dict[tuple[int, int, int], PrefixState] = {}

    def rescore(self, slots: list[tuple[int, int]], prefixes: Tensor, attention: Tensor, force_eos: Tensor) -> Tensor:
        """Joint log-scores (H, V) of extending the running hypotheses ``slots`` ((utterance, beam slot) each;
        ``prefixes`` (H, n): ``<s>`` y_1 .. y_n) by each one's pre-selected tokens (only ``</s>`` where ``force_eos``),
        -inf for the other tokens; the new states wait in ``pending``."""
        candidates = attention.topk(self.pre_beam, dim=1).indices
        candidates[force_eos] = self.eos
        valid = (candidates != CTC_BLANK) & torch.isfinite(attention.gather(1, candidates))
        valid[force_eos, 1:] = False
        lasts = prefixes[:, -1].tolist() if prefixes.shape[1] > 1 else [-1] * len(slots)  # -1: only <s> so far
        states = [self.states[utterance][slot] for utterance, slot in slots]
        r, psi = self.scorer.extend_many([u for u, _ in slots], lasts, states, candidates.cpu().numpy(),
                                         valid.cpu().numpy())  # fmt: skip
        before = np.array([state.score for state in states])[:, None]
        gain = torch.from_numpy(self.weight * (psi - before)).to(attention)
        scores = (1 - self.weight) * attention.gather(1, candidates) + gain
        joint = torch.full_like(attention, float("-inf"))
        hypothesis, column = torch.nonzero(valid, as_tuple=True)  # a token appears once per row among the valid
        joint[hypothesis, candidates[hypothesis, column]] = scores[hypothesis, column]
        for h, k, token in zip(hypothesis.tolist(), column.tolist(), candidates[hypothesis, column].tolist(),
                               strict=True):  # fmt: skip
            utterance, slot = slots[h]
            self.pending[(utterance, slot, token)] = PrefixState(r[h, :, :, k], float(psi[h, k]))
        return joint

    def advance(self, utterance: int, chosen: list[tuple[int, int]], beam: int) -> None:
        """The new beam of ``utterance``: the states of its chosen (origin slot, token) extensions, in order."""
        states = [self.pending[(utterance, origin, token)] for origin, token in chosen]
        self.states[utterance] = states + [states[0]] * (beam - len(states)) if states else self.states[utterance]

    def clear(self) -> None:
        self.pending.clear()


@torch.no_grad()
def beam_search(
    model: Seq2SeqASR,
    features: Tensor,
    lengths: Tensor,
    beam: int = 4,
    length_penalty: float = 1.0,
    max_tokens: int = 200,
    banned: Sequence[int] = (),
    ctc_weight: float = 0.0,
) -> list[Hypothesis]:
    """The best hypothesis of every utterance of a padded batch (see the module docstring). ``banned`` ids are never
    emitted (tokens no transcript contains, such as ``<s>`` and ``<unk>``). ``ctc_weight`` > 0: joint CTC/attention
    decoding."""
    check_search_options(beam, length_penalty, max_tokens, ctc_weight)
    was_training = model.training
    model.eval()
    try:
        memory, memory_mask = model.encode(features, lengths)
        limits = memory_mask.sum(dim=1).clamp(max=max_tokens).tolist()
        joint = JointCTC(model, memory, memory_mask, ctc_weight, beam) if ctc_weight > 0 else None
        return _search(model, memory, memory_mask, limits, beam, length_penalty, list(banned), joint)
    finally:
        model.train(was_training)


def _search(
    model: Seq2SeqASR,
    memory: Tensor,
    memory_mask: Tensor,
    limits: list[int],
    beam: int,
    length_penalty: float,
    banned: list[int],
    joint: JointCTC | None = None,
) -> list[Hypothesis]:
    batch, device = memory.shape[0], memory.device
    sos, eos = model.config.sos_id, model.config.eos_id
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    active = torch.arange(batch, device=device)  # utterances still searching, in stack order
    tokens = torch.full((batch, beam, 1), sos, dtype=torch.long, device=device)
    scores = torch.full((batch, beam), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live hypothesis at the start: the beam's copies of <s> must not be expanded twice

    def ended(prefix: Tensor, score: float) -> Hypothesis:  # prefix: <s> y_1 .. y_n </s>
        length = prefix.shape[0] - 1  # |y|: the tokens after <s>, </s> included
        return Hypothesis(tuple(prefix[1:-1].tolist()), score, score / length**length_penalty)

    step = 0
    while active.numel():
        step += 1
        n = active.numel()
        states = model.decode(
            memory[active].repeat_interleave(beam, dim=0),
            memory_mask[active].repeat_interleave(beam, dim=0),
            tokens.reshape(n * beam, step),
        )
        log_probs = torch.log_softmax(model.classify(states[:, -1], [SUPERVISED_HEAD])[SUPERVISED_HEAD].float(), -1)
        if banned:
            log_probs[:, banned] = float("-inf")
        if joint is not None:  # attention scores -> joint scores of the pre-selected extensions
            joint.clear()
            rows, slots = torch.nonzero(torch.isfinite(scores), as_tuple=True)  # the running hypotheses
            utterances = active[rows]
            at_limit = torch.tensor([step >= limits[u] for u in utterances.tolist()], device=device)
            live = rows * beam + slots
            log_probs[live] = joint.rescore(
                list(zip(utterances.tolist(), slots.tolist(), strict=True)), tokens[rows, slots], log_probs[live],
                at_limit,
            )  # fmt: skip
        vocab = log_probs.shape[-1]
        candidates = (scores.unsqueeze(-1) + log_probs.view(n, beam, vocab)).view(n, beam * vocab)
        top_scores, top_index = candidates.topk(min(2 * beam, beam * vocab), dim=1)
        origins, extensions = top_index // vocab, top_index % vocab

        keep = torch.zeros(n, dtype=torch.bool, device=device)
        next_tokens = torch.empty((n, beam, step + 1), dtype=torch.long, device=device)
        next_scores = torch.full((n, beam), float("-inf"), device=device)
        for row in range(n):
            utterance = int(active[row])
            if step >= limits[utterance]:  # the length limit: every running hypothesis ends here
                for k in range(beam):
                    if torch.isfinite(scores[row, k]):
                        eos_score = float(scores[row, k] + log_probs[row * beam + k, eos])
                        prefix = torch.cat([tokens[row, k], tokens.new_tensor([eos])])
                        finished[utterance].append(ended(prefix, eos_score))
                continue
            live, chosen = 0, []
            for rank in range(top_scores.shape[1]):
                score = float(top_scores[row, rank])
                if score == float("-inf") or live == beam:
                    break
                origin, token = int(origins[row, rank]), int(extensions[row, rank])
                prefix = torch.cat([tokens[row, origin], tokens.new_tensor([token])])
                if token == eos:
                    if rank < beam:
                        finished[utterance].append(ended(prefix, score))
                    continue
                next_tokens[row, live], next_scores[row, live] = prefix, score
                chosen.append((origin, token))
                live += 1
            if joint is not None:
                joint.advance(utterance, chosen, beam)
            if len(finished[utterance]) < beam and live > 0:
                if live < beam:  # fewer extensions than beams (tiny vocabularies): pad with dead copies
                    next_tokens[row, live:] = next_tokens[row, 0]
                keep[row] = True
        active, tokens, scores = active[keep], next_tokens[keep], next_scores[keep]
    return [max(hypotheses, key=lambda h: h.normalized) for hypotheses in finished]
