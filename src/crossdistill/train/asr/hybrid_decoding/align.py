"""Forced alignment of a corpus with a trained hybrid AM: ``crossdistill asr align`` (recipe hybrid).

Each transcript becomes its alignment graph (``align_graph``: lexicon phones, optional silences, triphone HMM
states through the units' senone tree; a word missing from the lexicon is one ``SPN`` phone) and is aligned by
Viterbi (``viterbi``) to the AM's scaled senone likelihoods, ``log p(s | x_t) - prior_scale * log P(s)`` (the
scores Kaldi's DNN alignment uses). Output, in the corpus contract's format: ``OUT/{split}.words.ctm`` and
``OUT/{split}.phones.ctm`` (phones tile the audio with SIL; ``load_asr_corpus(root, alignments=OUT)`` reads them)
and ``OUT/align.json`` (the report; also returned). Where the corpus has reference alignments (the synthetic
corpus), the report holds the phone-boundary error against them (``alignment.phone_boundary_errors``).

Every utterance is checked to have frames enough for its transcript before the AM runs; ``OUT`` may not lie in the
corpus folder (a corpus is only read). Each file is written atomically, and every split is aligned again on a rerun
(alignment is deterministic), so a killed run rerun gives exactly the uninterrupted result.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from crossdistill.common import atomic_write_text
from crossdistill.data.asr.ctm import write_ctm
from crossdistill.data.asr.features import load_or_compute_fbank
from crossdistill.data.asr.frames import SAMPLE_RATE, num_frames
from crossdistill.data.asr.librispeech import load_asr_corpus
from crossdistill.train.asr.hybrid_decoding.acoustic import Timer, senone_log_posteriors
from crossdistill.train.asr.hybrid_decoding.align_graph import min_frames, transcript_pronunciations
from crossdistill.train.asr.hybrid_decoding.alignment import (
    align_utterance,
    combine_boundary_errors,
    phone_boundary_errors,
)
from crossdistill.train.asr.hybrid_decoding.model import load_hybrid_scorer
from crossdistill.train.asr.hybrid_decoding.options import HybridAlignOptions

REPORT_FILE = "align.json"


def align_hybrid(
    model: str | os.PathLike, corpus: str | os.PathLike, out: str | os.PathLike, options: HybridAlignOptions,
    progress: bool = True,
) -> dict:  # fmt: skip
    """Align ``corpus`` with the hybrid AM run ``model`` into ``out`` (see the module docstring)."""
    options.check()
    started = time.perf_counter()
    out, corpus = Path(out), Path(corpus)
    if _inside(out, corpus):
        raise ValueError(
            f"--out {out} lies inside the corpus folder {corpus}, which is only read; choose a folder outside"
        )
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    corpus_data = load_asr_corpus(corpus, lexicon=options.lexicon, allow_oov=True, progress=progress)
    if corpus_data.lexicon is None:
        raise FileNotFoundError(f"corpus {corpus} has no lexicon.txt; give one with --lexicon")
    splits = list(options.splits or corpus_data.splits)
    unknown = [s for s in splits if s not in corpus_data.splits]
    if unknown:
        raise ValueError(f"--splits {', '.join(unknown)}: corpus {corpus} has splits {', '.join(corpus_data.splits)}")
    lexicon = corpus_data.lexicon
    _check_lengths(corpus_data, splits, lexicon)
    scorer = load_hybrid_scorer(model, options.units)
    table = scorer.tree.table()
    log_priors = scorer.log_priors
    features = load_or_compute_fbank(corpus_data, cache_dir=options.features_cache, progress=progress)

    report_splits = {}
    timer = Timer()
    for split in splits:
        utterances = {u.utt_id: u for u in corpus_data.splits[split]}
        aligned, fallbacks = {}, []
        for utt_id, log_posteriors in senone_log_posteriors(
            scorer.model, features[split], list(utterances), options.batch_size, timer, progress, f"align {split}"
        ):
            u = utterances[utt_id]
            with timer:
                result = align_utterance(
                    u.words, lexicon, table, log_posteriors - options.prior_scale * log_priors, u.duration
                )
            aligned[utt_id] = result.alignment
            if result.fallback:
                fallbacks.append(utt_id)
        ordered = [aligned[utt] for utt in utterances]
        write_ctm(out / f"{split}.words.ctm", {utt: a.words for utt, a in zip(utterances, ordered, strict=True)})
        write_ctm(out / f"{split}.phones.ctm", {utt: a.phones for utt, a in zip(utterances, ordered, strict=True)})
        entry = {
            "utterances": len(utterances),
            "oov_tokens": sum(w not in lexicon for u in utterances.values() for w in u.words),
            "fallback_utterances": fallbacks,
            "audio_seconds": round(sum(u.num_samples for u in utterances.values()) / SAMPLE_RATE, 3),
        }
        reference = corpus_data.alignments.get(split)
        if reference:
            parts = [phone_boundary_errors(reference[utt].phones, aligned[utt].phones) for utt in utterances]
            entry["phone_boundary_error"] = combine_boundary_errors(parts).summary()
        report_splits[split] = entry
    audio = sum(entry["audio_seconds"] for entry in report_splits.values())
    report = {
        "recipe": "hybrid",
        "model": str(Path(model)),
        "corpus": str(corpus),
        "out": str(out),
        "splits": report_splits,
        "prior_scale": options.prior_scale,
        "lexicon": str(corpus_data.lexicon_path),
        "rtf": round(timer.seconds / audio, 6) if audio else None,
        "threads": torch.get_num_threads(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    atomic_write_text(out / REPORT_FILE, json.dumps(report, indent=2) + "\n")
    return report


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _check_lengths(corpus, splits: Sequence[str], lexicon) -> None:
    """Every utterance must have a frame per phone at least (the fallback topology's minimum)."""
    short = []
    for split in splits:
        for u in corpus.splits[split]:
            needed = min_frames(transcript_pronunciations(u.words, lexicon), skip_states=True)
            if num_frames(u.num_samples) < needed:
                short.append(f"{u.utt_id} ({u.transcript}, line {u.line}): {num_frames(u.num_samples)} frames, "
                             f"{needed} phones")  # fmt: skip
    if short:
        raise ValueError(
            f"{len(short)} utterance(s) are shorter than their transcripts' phones (10 ms each): "
            + "; ".join(short[:5])
        )
