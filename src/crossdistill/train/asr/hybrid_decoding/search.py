"""Lexicon + word n-gram beam search over phone-state scores: flashlight-text's ``LexiconDecoder`` in ASG mode.

Why ASG and not CTC: a hybrid AM scores every frame with an HMM state; there is no blank and no "spike" (a CTC
model's token fires on one frame and blank fills the rest). In ASG mode a hypothesis either stays on its token
(the next frame is scored by the same token: an HMM self-loop) or moves to the next token of the word's spelling,
so with tokens = phone states (``tokens.py``) every path is a left-to-right 3-state HMM per phone with a minimum of
one frame per state, exactly the hybrid topology. Transitions (ASG's ``transitions`` matrix) are all 0: every
self-loop and forward move costs the same, as in a hybrid decoder whose transition scale is 0 (their effect is
small next to the acoustic and LM scores). Two consecutive identical tokens never occur inside a spelling (a
phone's states differ from each other and from the next phone's), so ASG's repetition ambiguity does not arise.

The last state of a word: flashlight emits a word when the hypothesis enters the last token of its spelling and
then returns to the trie root, where staying scores the silence token. A spelling ``AH_s1 AH_s2 AH_s3`` alone
would thus give a word's last state exactly one frame. Each word is therefore inserted twice: its spelling and its
spelling with the last token repeated; the hypothesis can stay on the first copy's node (it has a child) for any
number of frames and emit the word on entering the repeated token, so the last state lasts one frame (first
spelling) or any number >= 2 (second). Both carry the same word label and LM score.

Between words the root emits the silence token (optional silence of any length, including none); ``sil_score``
is added per silence frame and ``word_score`` per word, ``lm_weight`` scales the LM's log10 probabilities (KenLM
reports log10) against the natural-log acoustic scores. Unknown words are off (``unk_score`` = -inf): a word
missing from the lexicon cannot be recognized, and it counts as an error in the WER (and in the OOV rate).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from crossdistill.train.asr.hybrid_decoding.options import SearchOptions
from crossdistill.train.asr.hybrid_decoding.tokens import SILENCE_TOKEN_ID, TOKENS, spell

UNKNOWN_WORD = "<unk>"


class LexiconSearch:
    """A ready decoder: the lexicon's trie, the word LM and the options; ``decode`` maps one utterance's
    ``(T, 121)`` token scores to its words.

    ``lm``: an ARPA or KenLM binary file, or None to decode with the lexicon alone (every word equally likely).
    ``variants``: more pronunciations of some lexicon words (``pronunciations.learn_variants``), searched beside
    the lexicon's own.
    """

    def __init__(
        self,
        lexicon: Mapping[str, Sequence[str]],
        lm: str | os.PathLike | None,
        options: SearchOptions | None = None,
        variants: Mapping[str, Sequence[Sequence[str]]] | None = None,
    ) -> None:
        from flashlight.lib.text.decoder import SmearingMode, Trie, ZeroLM
        from flashlight.lib.text.dictionary import Dictionary

        self.options = options or SearchOptions()
        self.options.check()
        if not lexicon:
            raise ValueError("empty lexicon: nothing to decode into")
        unknown = sorted(set(variants or {}) - set(lexicon))  # checked before anything is built
        if unknown:
            raise ValueError(f"pronunciation variants of {len(unknown)} word(s) not in the lexicon, e.g. {unknown[0]}")
        self.words = sorted(lexicon)
        variants = variants or {}
        spellings: dict[str, list[list[int]]] = {}
        for word in self.words:
            pronunciations = dict.fromkeys([tuple(lexicon[word]), *(tuple(v) for v in variants.get(word, ()))])
            try:
                spellings[word] = [spell(p) for p in pronunciations]
            except ValueError as error:
                raise ValueError(f"lexicon word {word!r}: {error}") from None
        word_dict = Dictionary([*self.words, UNKNOWN_WORD])
        if lm is None:
            self.lm = ZeroLM()
        else:
            if not Path(lm).is_file():
                raise FileNotFoundError(f"word LM {lm} does not exist")
            from flashlight.lib.text.decoder.kenlm import KenLM

            try:
                self.lm = KenLM(str(lm), word_dict)
            except RuntimeError as error:
                raise ValueError(f"word LM {lm}: KenLM cannot read it ({error})") from None
        trie = Trie(len(TOKENS), SILENCE_TOKEN_ID)
        start = self.lm.start(False)
        for index, word in enumerate(self.words):
            _, unigram = self.lm.score(start, index)
            for tokens in spellings[word]:
                trie.insert(tokens, index, unigram)
                trie.insert([*tokens, tokens[-1]], index, unigram)  # the last state longer than one frame
        trie.smear(SmearingMode.MAX)  # LM look-ahead: each trie node carries its best word's unigram score
        self._trie = trie  # the decoder keeps a pointer: keep the trie alive as long as the decoder
        self._unknown = word_dict.get_index(UNKNOWN_WORD)
        self._decoder = self._build_decoder()

    def _build_decoder(self):
        from flashlight.lib.text.decoder import CriterionType, LexiconDecoder, LexiconDecoderOptions

        o = self.options
        flashlight_options = LexiconDecoderOptions(
            o.beam, o.beam_tokens or len(TOKENS), o.beam_threshold, o.lm_weight, o.word_score, float("-inf"),
            o.sil_score, False, CriterionType.ASG,
        )  # fmt: skip
        transitions = [0.0] * (len(TOKENS) * len(TOKENS))
        return LexiconDecoder(flashlight_options, self._trie, self.lm, SILENCE_TOKEN_ID, -1, self._unknown, transitions,
                              False)  # fmt: skip

    def set_options(self, options: SearchOptions) -> None:
        """Decode with other search settings, keeping the lexicon trie and the LM (for tuning weights on dev)."""
        options.check()
        self.options = options
        self._decoder = self._build_decoder()

    def decode(self, emissions: np.ndarray) -> list[str]:
        """The best word sequence for ``(T, 121)`` float32 token scores (``TokenMap.emissions``)."""
        emissions = np.ascontiguousarray(emissions, dtype=np.float32)
        if emissions.ndim != 2 or emissions.shape[1] != len(TOKENS):
            raise ValueError(f"emissions of shape {emissions.shape}, expected (frames, {len(TOKENS)})")
        if not len(emissions):
            return []
        results = self._decoder.decode(emissions.ctypes.data, emissions.shape[0], emissions.shape[1])
        if not results:
            return []
        # flashlight orders hypotheses of equal score by memory address (homophones the LM scores alike, e.g. two
        # words that are both <unk> to it): of the best-scoring ones, take the first word sequence in sorted order, so
        # that decoding is repeatable.
        best = max(result.score for result in results)
        return min(self._words_of(result) for result in results if result.score == best)

    def _words_of(self, result) -> list[str]:
        return [self.words[index] for index in result.words if 0 <= index < len(self.words)]
