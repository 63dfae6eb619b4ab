"""The decoder's tokens: context-independent phone states, and the map from the AM's senone scores onto them.

Why phone states: flashlight-text's ``LexiconDecoder`` searches a lexicon trie of token spellings with a word
n-gram; it has no HMM or context-dependency graph, so it cannot follow triphone senones across word boundaries
(a word's first and last senones depend on the neighbouring words). We therefore decode over the 3 states of each
phone (``AA_s1 AA_s2 AA_s3 ...``, 40 phones x 3 = 120 tokens) plus one silence token ``SIL``: 121 tokens.

Mapping (a hybrid system's scaled likelihood, marginalised over triphone context)::

    score(token j, frame t) = log sum_{s in senones(j)} p(s | x_t)  -  prior_scale * log sum_{s in senones(j)} P(s)

``senones(j)`` are the tree leaves under root ``(phone, state)`` of token j (every senone belongs to exactly one
phone state: the tree has one root per phone state), so the first term is the AM's posterior of the phone state
and the second its prior; their difference is log p(x_t | j) up to a term that is the same for every token
(Bourlard & Morgan's hybrid; Kaldi divides by priors the same way). The approximation: a senone's own scaled
likelihood is replaced by its phone state's, pooled over all triphone contexts. ``SIL`` pools its three states
into one token (silence needs no internal order), so the decoder's root, which emits the silence token between
words, scores silence as a whole.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crossdistill.data.asr.phones import PHONE_IDS, PHONES, SILENCE
from crossdistill.data.asr.units.contexts import N_STATES
from crossdistill.data.asr.units.tree import SenoneTree

SILENCE_TOKEN = SILENCE


def token_name(phone: str, state: int) -> str:
    """The token of ``phone``'s state ``state`` (0-based): ``AH_s1`` .. ``AH_s3``; every SIL state is ``SIL``."""
    return SILENCE_TOKEN if phone == SILENCE else f"{phone}_s{state + 1}"


TOKENS: tuple[str, ...] = (
    *(token_name(phone, state) for phone in PHONES if phone != SILENCE for state in range(N_STATES)),
    SILENCE_TOKEN,
)
TOKEN_IDS: dict[str, int] = {name: index for index, name in enumerate(TOKENS)}
SILENCE_TOKEN_ID = TOKEN_IDS[SILENCE_TOKEN]


def spell(phones: Sequence[str]) -> list[int]:
    """The token ids of a pronunciation: each phone's three states in order (``ValueError`` for SIL or an unknown
    phone: a word is spelled with speech phones)."""
    tokens = []
    for phone in phones:
        if phone == SILENCE or phone not in PHONE_IDS:
            raise ValueError(f"phone {phone!r} cannot spell a word (not one of the 40 non-silence phones)")
        tokens += [TOKEN_IDS[token_name(phone, state)] for state in range(N_STATES)]
    return tokens


def senone_phone_states(tree: SenoneTree) -> np.ndarray:
    """``(K, 2)`` int64: the phone id and state of every senone (the root of the tree its leaf hangs under)."""
    if tuple(tree.phones) != PHONES:
        raise ValueError("the senone tree's phone inventory is not crossdistill.data.asr.phones.PHONES")
    table = tree.table()  # [phone, state, left, right] -> senone; every leaf is reached by some context
    rows = np.full((len(tree.leaves()), 2), -1, dtype=np.int64)
    for phone in range(len(PHONES)):
        for state in range(N_STATES):
            rows[np.unique(table[phone, state])] = (phone, state)
    if (rows < 0).any():
        raise ValueError(f"senone {int(np.flatnonzero(rows[:, 0] < 0)[0])} is reached by no context of the tree")
    return rows


@dataclass(frozen=True)
class TokenMap:
    """Senones -> decoder tokens.

    Fields:
      senone_token: (K,) the token id of every senone.
      log_priors: (N,) log prior of every token (its senones' priors summed).
      prior_scale: the exponent of the prior division (1: the plain hybrid scaled likelihood).
    """

    senone_token: np.ndarray
    log_priors: np.ndarray
    prior_scale: float = 1.0

    @functools.cached_property
    def membership(self) -> np.ndarray:
        """(K, N) float64: 1 where a senone belongs to a token."""
        return _membership(self.senone_token)

    @classmethod
    def from_tree(cls, tree: SenoneTree, senone_log_priors: np.ndarray, prior_scale: float = 1.0) -> TokenMap:
        """The map of ``tree``'s senones with their log priors (K,) from the training alignments."""
        states = senone_phone_states(tree)
        senone_log_priors = np.asarray(senone_log_priors, dtype=np.float64)
        if senone_log_priors.shape != (len(states),):
            raise ValueError(f"{senone_log_priors.shape[0]} senone priors for a tree of {len(states)} senones")
        if not 0.0 <= prior_scale <= 2.0:
            raise ValueError(f"prior scale must lie in [0, 2], got {prior_scale}")
        senone_token = np.array(
            [TOKEN_IDS[token_name(PHONES[phone], state)] for phone, state in states.tolist()], dtype=np.int64
        )
        log_priors = _group_logsumexp(senone_log_priors[None, :], _membership(senone_token))[0]
        return cls(senone_token, log_priors, prior_scale)

    @property
    def num_senones(self) -> int:
        return len(self.senone_token)

    def emissions(self, senone_log_posteriors: np.ndarray) -> np.ndarray:
        """``(T, K)`` senone log posteriors of one utterance -> ``(T, N)`` float32 token scores (module docstring).

        Tokens without any senone (none, with a complete tree) get a very low score rather than -inf, which the
        search could not compare.
        """
        scores = np.asarray(senone_log_posteriors, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[1] != self.num_senones:
            raise ValueError(f"senone scores of shape {scores.shape}, expected (frames, {self.num_senones})")
        tokens = _group_logsumexp(scores, self.membership) - self.prior_scale * self.log_priors
        return np.maximum(tokens, _FLOOR).astype(np.float32)


_FLOOR = -1e4  # far below any real score, still finite


def _membership(senone_token: np.ndarray) -> np.ndarray:
    matrix = np.zeros((len(senone_token), len(TOKENS)))
    matrix[np.arange(len(senone_token)), senone_token] = 1.0
    return matrix


def _group_logsumexp(scores: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """``(T, K)`` log values -> ``(T, N)`` log sums over each token's senones (``membership`` (K, N) of 0/1)."""
    peak = scores.max(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(scores - peak) @ membership) + peak
