"""Subwords: a sentencepiece unigram model on the LM-train text, and how a word's frames divide among its pieces.

Inventory (``subword.txt``, id = line): sentencepiece's ``<unk>`` (0), ``<s>`` (1), ``</s>`` (2), then
``<sil>`` (3), then the learned pieces. ``<sil>`` is a sentencepiece *control symbol*: it has an id in the
model but is never produced from text; it labels frames outside words (silence) and stands for the silence at
both edges of an LM-text sentence, so the LM text looks like deduplicated frame labels (``lm_text.py``).

Words are encoded one at a time: pieces never cross a space (sentencepiece's ``split_by_whitespace``), so the
concatenation of the words' pieces is the sentence's segmentation, and frames and LM text use the same pieces.

Training is deterministic: one thread (sentencepiece's EM gives a different model with 2 threads: measured),
identity normalization (the text is already normalized), and when the LM text is larger than
``max_sentences`` we pick the sentences ourselves with a seeded generator rather than through sentencepiece's
sampler, whose seed is process-global.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from crossdistill.common import atomic_write_bytes

SILENCE_PIECE = "<sil>"
WORD_BOUNDARY = "\u2581"  # sentencepiece's "▁", which starts every word's first piece


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def _sentences(path: Path, keep: np.ndarray | None) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if keep is None or keep[number]:
                yield line.rstrip("\n")


def train_subword_model(
    text: str | Path, out: str | Path, vocab_size: int, seed: int, max_sentences: int = 2_000_000
) -> int:
    """Train the unigram model on ``text`` (one sentence per line) and write it to ``out`` atomically.

    Returns the number of sentences it was trained on. ``ValueError`` (naming the text and ``--subwords``) when
    the text cannot support ``vocab_size`` pieces.
    """
    import sentencepiece as spm

    text = Path(text)
    total = count_lines(text)
    keep = None
    if total > max_sentences:
        keep = np.zeros(total, dtype=bool)
        keep[np.random.default_rng(seed).choice(total, size=max_sentences, replace=False)] = True
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=_sentences(text, keep),
            model_writer=model,
            model_type="unigram",
            vocab_size=vocab_size,
            character_coverage=1.0,
            normalization_rule_name="identity",
            control_symbols=[SILENCE_PIECE],
            num_threads=1,
            input_sentence_size=0,  # we sampled already: sentencepiece takes every sentence it is given
            minloglevel=2,
        )
    except RuntimeError as error:
        raise ValueError(f"{text}: sentencepiece cannot train {vocab_size} subwords (--subwords): {error}") from None
    atomic_write_bytes(out, model.getvalue())
    return total if keep is None else max_sentences


class SubwordModel:
    """The trained model: ``pieces`` (id -> piece) and per-word encoding."""

    def __init__(self, path: str | Path):
        import sentencepiece as spm

        self.path = Path(path)
        self.processor = spm.SentencePieceProcessor(model_file=str(self.path))
        self.pieces: list[str] = [self.processor.id_to_piece(i) for i in range(self.processor.get_piece_size())]
        self.silence_id = self.processor.piece_to_id(SILENCE_PIECE)
        self._cache: dict[str, list[int]] = {}
        if self.pieces[self.silence_id] != SILENCE_PIECE:
            raise ValueError(f"{self.path}: the model has no {SILENCE_PIECE} control symbol")

    def encode_words(self, words: Sequence[str]) -> list[list[int]]:
        """Piece ids of each word, encoded alone (the same pieces as inside a sentence).

        Words are encoded once and remembered: LM text repeats a vocabulary of some 10^4-10^5 words millions
        of times.
        """
        new = sorted({word for word in words if word not in self._cache})
        if new:
            self._cache.update(zip(new, self.processor.encode(new), strict=True))
        return [self._cache[word] for word in words]


def piece_weights(pieces: Sequence[str]) -> list[int]:
    """How much of a word each piece spells: its letters, the word-boundary mark not counted, at least 1 (a bare
    ``▁`` piece still gets a share, so it keeps a frame and deduplicated frames spell the same pieces)."""
    return [max(1, len(piece.replace(WORD_BOUNDARY, ""))) for piece in pieces]


def allocate_phones(weights: Sequence[int], n_phones: int) -> list[int]:
    """Split a word's ``n_phones`` phones among its pieces in proportion to ``weights``, in order.

    Returns the phone counts per piece. Cuts are the rounded cumulative shares (integer arithmetic), moved
    just enough that every piece gets at least one phone when ``n_phones >= len(weights)``; with fewer phones
    than pieces the plain rounded shares are returned (some pieces get none).
    """
    m = len(weights)
    if m == 0:
        raise ValueError("a word has at least one piece")
    if any(w <= 0 for w in weights):
        raise ValueError(f"piece weights must be positive, got {list(weights)}")
    total = sum(weights)
    cumulative = np.cumsum(weights)[:-1]
    cuts = [(2 * n_phones * int(c) + total) // (2 * total) for c in cumulative]  # round half up
    if n_phones >= m:
        for k in range(m - 1):  # forward: strictly increasing from 1
            cuts[k] = max(cuts[k], (cuts[k - 1] if k else 0) + 1)
        for k in reversed(range(m - 1)):  # backward: leave at least one phone for each later piece
            cuts[k] = min(cuts[k], (cuts[k + 1] if k + 1 < m - 1 else n_phones) - 1)
    bounds = [0, *cuts, n_phones]
    return [bounds[k + 1] - bounds[k] for k in range(m)]
