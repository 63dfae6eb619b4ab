"""The subword LM's next-token distributions on reference transcripts, for the seq2seq model (paper 001, Sections
4.2 and 5.1: LM and seq2seq AM share the subword units), cached once per unique transcript.

A transcript's target sequence is its words' sentencepiece pieces y_1 .. y_n (each word encoded alone, as the
units folder does) followed by the end of the sentence. The LM text wraps every sentence in ``<sil>`` (silence at
both edges, see ``crossdistill.data.asr.units.lm_text``), so the LM reads ``<s> <sil> y_1 .. y_n``, and:

- row k (k = 1..n) is p(y_k | y_<k), the LM's prediction of token k from the tokens before it;
- row n + 1 is its prediction after the last token, where it expects the closing ``<sil>``.

In the LM text ``<sil>`` occurs only at a sentence's edges, so after ``<sil>`` the LM's p(<sil> | prefix) is its
probability that the sentence ends there. We move that mass (and the small mass of its own boundary output) onto
the inventory's ``</s>``, the seq2seq model's end-of-sentence token, and leave ``<sil>`` at 0: every row is then a
distribution over the V subwords of the inventory, ids as in ``UNITS/subword.txt``. Unlike the LM text, repeated
pieces are not collapsed (a transcript "THE THE" has two ``▁THE`` tokens): the seq2seq model emits both.

Cache folder: ``cache.json`` (key, vocab, top_k, end_id, counts, bytes) and ``transcripts.npz``: key, texts (U,)
the unique transcripts (words joined by spaces), token_offsets int64 (U + 1,), tokens int32 (the y ids of all
transcripts), row_offsets int64 (U + 1,) (n + 1 rows per transcript), probs float32 (R, V) or top_ids (R, K) +
top_probs (R, K), utt_ids (N,) and utt_transcript int32 (N,) the transcript of every utterance. The key covers the
LM, the units key, the subword model, the transcripts of every utterance and top-k.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from crossdistill.common import atomic_path, fingerprint, fingerprint_file
from crossdistill.data.asr.units.subwords import SILENCE_PIECE, SubwordModel
from crossdistill.kd.framewise import densify_top_k, keep_top_k
from crossdistill.teachers.lm.cache_files import build_cache_folder, check_cache_meta, read_cache_meta, write_cache_meta
from crossdistill.teachers.lm.inference import iterate_log_probs
from crossdistill.teachers.lm.model import lm_fingerprint
from crossdistill.teachers.lm.posteriors import (
    PROB_DTYPE,
    CacheOptions,
    TeacherInputs,
    check_options,
    id_dtype,
    open_teacher_inputs,
    teacher_meta,
)
from crossdistill.teachers.lm.text import UnitSentences
from crossdistill.teachers.lm.vocabulary import SENTENCE_END

FORMAT_VERSION = 1
KIND = "transcript_lm_posteriors"
ARRAYS_FILE = "transcripts.npz"


@dataclass(frozen=True)
class Transcripts:
    """Every utterance's transcript: utt_ids (N,) and words (N,) as tuples of words, in corpus order."""

    utt_ids: tuple[str, ...]
    words: tuple[tuple[str, ...], ...]

    def unique(self) -> tuple[list[str], np.ndarray]:
        """The unique transcripts (sorted) and each utterance's index among them."""
        texts = sorted({" ".join(w) for w in self.words})
        index = {text: i for i, text in enumerate(texts)}
        return texts, np.array([index[" ".join(w)] for w in self.words], dtype=np.int32)


def corpus_transcripts(corpus: Any) -> Transcripts:
    """The transcripts of every utterance of every split of ``corpus``: a validated ``AsrCorpus`` (its splits hold
    ``AsrUtterance``) or a ``UnitsInputs`` (its splits hold ``Utterance``); both have ``utt_id`` and ``words``."""
    splits: Mapping[str, Sequence[Any]] = corpus.splits
    utterances = [u for split in sorted(splits) for u in splits[split]]
    return Transcripts(tuple(u.utt_id for u in utterances), tuple(tuple(u.words) for u in utterances))


def _load_corpus(corpus: Any) -> Any:
    if isinstance(corpus, str | Path):
        from crossdistill.data.asr.librispeech import load_asr_corpus

        return load_asr_corpus(corpus, progress=False)
    return corpus


def transcript_cache_key(inputs: TeacherInputs, transcripts: Transcripts) -> str:
    """The key of the transcript cache of ``inputs`` on ``transcripts`` (see the module docstring)."""
    return fingerprint(
        {
            "kind": KIND,
            "format": FORMAT_VERSION,
            "lm": lm_fingerprint(inputs.lm_dir),
            "units": inputs.units.key,
            "subword_model": fingerprint_file(inputs.units.root / "subword.model"),
            "transcripts": fingerprint([list(transcripts.utt_ids), [" ".join(w) for w in transcripts.words]]),
            "top_k": inputs.top_k,
        }
    )


def expected_transcript_key(lm: str | Path, units: str | Path, corpus: Any, top_k: int | None = None) -> str:
    """The key a transcript cache of LM ``lm`` on ``corpus`` (folder, ``AsrCorpus``, ``UnitsInputs``) must carry."""
    inputs = _subword_inputs(lm, units, top_k, None)
    return transcript_cache_key(inputs, corpus_transcripts(_load_corpus(corpus)))


def _subword_inputs(lm: str | Path, units: str | Path | None, top_k: int | None, corpus: Any) -> TeacherInputs:
    inputs = open_teacher_inputs(lm, units, top_k, corpus)
    if inputs.unit != "subword":
        raise ValueError(f"{lm} is a {inputs.unit} LM: transcript targets need the subword LM")
    return inputs


def build_transcript_cache(options: CacheOptions) -> dict[str, Any]:
    """Build (or find) the transcript cache; returns the summary line the command prints."""
    started = time.perf_counter()
    check_options(options)
    corpus = _load_corpus(options.corpus) if options.corpus is not None else None
    if corpus is None:
        raise ValueError("the transcripts come from the corpus: pass --corpus")
    inputs = _subword_inputs(options.lm, options.units, options.top_k, corpus)
    transcripts = corpus_transcripts(corpus)
    key = transcript_cache_key(inputs, transcripts)
    out = Path(options.out) if options.out is not None else inputs.lm_dir / "transcripts" / key
    existing = read_cache_meta(out)
    if existing is not None and existing.get("key") == key:
        return _summary_line(out, existing, reused=True, seconds=time.perf_counter() - started)

    if options.threads is not None:
        torch.set_num_threads(options.threads)
    vocabulary = inputs.lm.vocabulary
    ids = vocabulary.ids()
    if SENTENCE_END not in ids or SILENCE_PIECE not in ids:
        raise ValueError(
            f"{inputs.units.root / 'subword.txt'} lacks {SENTENCE_END!r} or {SILENCE_PIECE!r}: not a units folder's "
            "sentencepiece inventory"
        )
    texts, utt_transcript = transcripts.unique()
    model = SubwordModel(inputs.units.root / "subword.model")
    tokens = [np.array([p for piece_ids in model.encode_words(t.split()) for p in piece_ids], np.int32) for t in texts]
    with build_cache_folder(out) as tmp:
        arrays = _transcript_rows(inputs, tokens, ids[SILENCE_PIECE], ids[SENTENCE_END], options)
        arrays |= {"texts": np.array(texts, dtype=str), "utt_ids": np.array(transcripts.utt_ids, dtype=str),
                   "utt_transcript": utt_transcript}  # fmt: skip
        with atomic_path(tmp / ARRAYS_FILE) as path:
            np.savez(path, key=np.array(key), **arrays)
        meta = teacher_meta(inputs, key, KIND, FORMAT_VERSION) | {
            "end_id": ids[SENTENCE_END],
            "utterances": len(transcripts.utt_ids),
            "transcripts": len(texts),
            "tokens": int(sum(len(t) for t in tokens)),
            "rows": int(arrays["row_offsets"][-1]),
            "build_seconds": round(time.perf_counter() - started, 3),
        }
        meta = write_cache_meta(tmp, meta)
    return _summary_line(out, meta, reused=False, seconds=time.perf_counter() - started)


def _transcript_rows(
    inputs: TeacherInputs, tokens: list[np.ndarray], silence_id: int, end_id: int, options: CacheOptions
) -> dict[str, np.ndarray]:
    """n + 1 rows per transcript (see the module docstring), full or top-k."""
    lm, vocab, top_k = inputs.lm, inputs.lm.vocabulary.size, inputs.top_k
    sentences = UnitSentences.from_lists([[silence_id, *t.tolist(), silence_id] for t in tokens])
    token_offsets = np.concatenate([[0], np.cumsum([len(t) for t in tokens])]).astype(np.int64)
    row_offsets = token_offsets + np.arange(len(tokens) + 1)
    width = top_k or vocab
    rows = np.zeros((int(row_offsets[-1]), width), dtype=PROB_DTYPE)
    top_ids = np.zeros(rows.shape, dtype=id_dtype(vocab)) if top_k else None
    bar = tqdm(total=len(tokens), desc="transcript posteriors", unit="text",
               disable=None if options.progress else True, leave=False)  # fmt: skip
    for i, log_probs in iterate_log_probs(lm, sentences, options.batch_size):
        n = len(tokens[i])
        probs = log_probs[1 : n + 2].double().exp()  # rows after <s> <sil> y_<k: predictions of y_1 .. y_n, end
        end = probs[:, silence_id] + probs[:, vocab] + probs[:, end_id]
        probs = probs[:, :vocab].clone()
        probs[:, end_id], probs[:, silence_id] = end, 0.0
        probs /= probs.sum(-1, keepdim=True)  # sums to 1 already, up to rounding
        start, stop = row_offsets[i], row_offsets[i + 1]
        if top_k:
            ids, kept = keep_top_k(probs, top_k)
            top_ids[start:stop], rows[start:stop] = ids.numpy(), kept.numpy()
        else:
            rows[start:stop] = probs.numpy()
        bar.update(1)
    bar.close()
    arrays = {"token_offsets": token_offsets, "row_offsets": row_offsets,
              "tokens": np.concatenate(tokens) if tokens else np.zeros(0, np.int32)}  # fmt: skip
    return arrays | ({"top_ids": top_ids, "top_probs": rows} if top_k else {"probs": rows})


@dataclass(frozen=True)
class TranscriptPosteriors:
    """One transcript's targets: tokens (n,), probs (n + 1, V or K), top_ids (n + 1, K) or None."""

    text: str
    tokens: Tensor
    probs: Tensor
    top_ids: Tensor | None
    vocab: int

    def dense(self) -> Tensor:
        """(n + 1, V) rows over the inventory: row k - 1 predicts token k, the last row the end (``</s>``)."""
        return self.probs if self.top_ids is None else densify_top_k(self.top_ids, self.probs, self.vocab)


class TranscriptCache:
    """A checked transcript cache, read whole; targets by utterance id or transcript index."""

    def __init__(self, root: Path, meta: dict[str, Any]) -> None:
        self.root, self.meta = root, meta
        with np.load(root / ARRAYS_FILE, allow_pickle=False) as data:
            if str(data["key"]) != meta["key"]:
                raise ValueError(f"{root / ARRAYS_FILE} does not carry the cache key {meta['key']}")
            self.texts = tuple(str(t) for t in data["texts"])
            self.token_offsets, self.row_offsets = data["token_offsets"], data["row_offsets"]
            self.tokens = torch.from_numpy(data["tokens"].astype(np.int64))
            top = "top_ids" in data.files
            self.probs = torch.from_numpy(data["top_probs"] if top else data["probs"])
            self.top_ids = torch.from_numpy(data["top_ids"].astype(np.int64)) if top else None
            self.utterance_index = dict(zip((str(u) for u in data["utt_ids"]), data["utt_transcript"].tolist(),
                                            strict=True))  # fmt: skip

    @property
    def end_id(self) -> int:
        return int(self.meta["end_id"])

    def transcript(self, i: int) -> TranscriptPosteriors:
        t0, t1 = int(self.token_offsets[i]), int(self.token_offsets[i + 1])
        r0, r1 = int(self.row_offsets[i]), int(self.row_offsets[i + 1])
        top = None if self.top_ids is None else self.top_ids[r0:r1]
        return TranscriptPosteriors(self.texts[i], self.tokens[t0:t1], self.probs[r0:r1], top, int(self.meta["vocab"]))

    def utterance(self, utt_id: str) -> TranscriptPosteriors:
        return self.transcript(self.utterance_index[utt_id])


def load_transcript_posteriors(cache: str | Path, expected_key: str) -> TranscriptCache:
    """Open a transcript cache, refusing one whose key is not ``expected_key`` (``expected_transcript_key``)."""
    root = Path(cache)
    return TranscriptCache(root, check_cache_meta(root, KIND, expected_key, "crossdistill asr lm transcripts"))


def _summary_line(out: Path, meta: dict[str, Any], reused: bool, seconds: float) -> dict[str, Any]:
    keys = ("key", "unit", "vocab", "top_k", "utterances", "transcripts", "tokens", "rows", "bytes")
    return {"cache": str(out), **{k: meta[k] for k in keys}, "reused": reused, "seconds": round(seconds, 3)}
