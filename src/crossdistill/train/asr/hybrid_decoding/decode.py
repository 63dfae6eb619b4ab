"""Decode a corpus split with a trained hybrid AM to words and score it: ``crossdistill asr decode`` (recipe hybrid).

Steps: the corpus (read with ``allow_oov``: a lexicon missing test words is reported as an OOV rate, and decoding
goes on, as ASR tools do), the model and its units folder (senone tree), the trigram word LM (built from the
corpus's LM text with lmplz and cached, or a given ARPA/binary file, or none), pronunciation variants learned from
the training split's alignments (``pronunciations``, when the corpus has them), the AM's senone log posteriors of
every utterance -> phone-state scores (``tokens.TokenMap``: divided by the priors stored with the model) -> the
lexicon beam search (``search.LexiconSearch``) -> WER with jiwer.

Optional tuning: ``tune_split`` (a dev split, never the reported one) decodes that split once per pair of
``lm_weights`` x ``word_scores`` and keeps the pair with the lowest WER (ties: the first in grid order) for the
reported split.

Output (beside the model): ``<run>/decode/<split>.json`` (what ``decode_hybrid`` returns) and
``<run>/decode/<split>.utterances.jsonl`` (reference, hypothesis and edit counts of every utterance, for
utterance-level paired tests), both written atomically.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from crossdistill.common import atomic_write_text
from crossdistill.data.asr.features import load_or_compute_fbank
from crossdistill.data.asr.frames import SAMPLE_RATE
from crossdistill.data.asr.librispeech import AsrCorpus, load_asr_corpus
from crossdistill.data.asr.word_lm import build_word_lm
from crossdistill.train.asr.hybrid_decoding.acoustic import Timer, senone_log_posteriors
from crossdistill.train.asr.hybrid_decoding.model import HybridScorer, load_hybrid_scorer
from crossdistill.train.asr.hybrid_decoding.options import HybridDecodeOptions
from crossdistill.train.asr.hybrid_decoding.pronunciations import learn_variants
from crossdistill.train.asr.hybrid_decoding.scoring import score_corpus
from crossdistill.train.asr.hybrid_decoding.search import LexiconSearch
from crossdistill.train.asr.hybrid_decoding.tokens import TokenMap

DECODE_DIR = "decode"


def decode_hybrid(
    model: str | os.PathLike, corpus: str | os.PathLike, options: HybridDecodeOptions, progress: bool = True
) -> dict:
    """Decode ``options.split`` of ``corpus`` with the hybrid AM run ``model``; returns (and writes) the report."""
    options.check()
    started = time.perf_counter()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    corpus_data = load_asr_corpus(corpus, lexicon=options.lexicon, allow_oov=True, progress=progress)
    for option, split in (("--split", options.split), ("--tune-split", options.tune_split)):
        if split is not None and split not in corpus_data.splits:
            raise ValueError(f"{option} {split!r}: corpus {corpus} has splits {', '.join(corpus_data.splits)}")
    if corpus_data.lexicon is None:
        raise FileNotFoundError(f"corpus {corpus} has no lexicon.txt; give one with --lexicon")
    scorer = load_hybrid_scorer(model, options.units)
    if options.variants_from is not None and options.variants_from not in corpus_data.splits:
        raise ValueError(f"--variants-from {options.variants_from!r}: corpus {corpus} has no such split")
    lm_path, lm_summary = _word_lm(corpus_data, options)  # a missing lmplz fails here, before the AM runs
    token_map = TokenMap.from_tree(scorer.tree, scorer.log_priors, options.prior_scale)
    features = load_or_compute_fbank(corpus_data, cache_dir=options.features_cache, progress=progress)

    lm_started = time.perf_counter()
    variants, variants_summary = _variants(corpus_data, options)
    search = LexiconSearch(corpus_data.lexicon, lm_path, options.search, variants)
    lm_seconds = time.perf_counter() - lm_started
    tuning = None
    if options.tune_split is not None:
        tuning = _tune(scorer, token_map, features, corpus_data, search, options, progress)
        search.set_options(tuning["chosen"])
        tuning["chosen"] = tuning["chosen"].to_dict()

    split = options.split
    utterances = corpus_data.splits[split]
    am_timer, search_timer = Timer(), Timer()
    emissions = _emissions(scorer, token_map, features[split], utterances, options, am_timer, progress)
    hypotheses = {}
    for u in tqdm(utterances, desc=f"search {split}", unit="utt", disable=None if progress else True, leave=False):
        with search_timer:
            hypotheses[u.utt_id] = search.decode(emissions[u.utt_id])
    summary, rows = score_corpus({u.utt_id: u.words for u in utterances}, hypotheses, corpus_data.lexicon)
    audio_seconds = sum(u.num_samples for u in utterances) / SAMPLE_RATE
    report = {
        "recipe": "hybrid",
        "model": str(Path(model)),
        "corpus": str(Path(corpus)),
        "split": split,
        **summary,
        "audio_seconds": round(audio_seconds, 3),
        "rtf": round((am_timer.seconds + search_timer.seconds) / audio_seconds, 6),
        "am_rtf": round(am_timer.seconds / audio_seconds, 6),
        "search_rtf": round(search_timer.seconds / audio_seconds, 6),
        "lm_load_seconds": round(lm_seconds, 3),
        "search": search.options.to_dict(),
        "tuning": tuning,
        "word_lm": lm_summary,
        "lexicon": str(corpus_data.lexicon_path),
        "lexicon_words": len(corpus_data.lexicon),
        "pronunciation_variants": variants_summary,
        "tokens": "phone states (40 phones x 3 + SIL), senone posteriors summed per phone state / priors",
        "options": options.to_dict(),
        "threads": torch.get_num_threads(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    out = scorer.run_dir / DECODE_DIR
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"{split}.utterances.jsonl", "".join(json.dumps(r.to_dict()) + "\n" for r in rows))
    atomic_write_text(out / f"{split}.json", json.dumps(report, indent=2) + "\n")
    return report


def _word_lm(corpus: AsrCorpus, options: HybridDecodeOptions) -> tuple[Path | None, dict | None]:
    if not options.use_lm:
        return None, None
    if options.lm is not None:
        if not Path(options.lm).is_file():
            raise FileNotFoundError(f"--lm {options.lm} does not exist")
        return Path(options.lm), {"file": str(options.lm), "built": False}
    if corpus.lm_text is None:
        raise FileNotFoundError(
            f"corpus {corpus.root} has no lm/text.txt to build the word LM from; give one with --lm, or --no-lm"
        )
    built = build_word_lm(corpus.lm_text, options.word_lm, options.lm_cache)
    return built.path, {"file": str(built.path), "built": True, **built.summary}


def _variants(corpus: AsrCorpus, options: HybridDecodeOptions) -> tuple[dict | None, dict]:
    split = options.variants_from
    if split is None:
        return None, {"from": None}
    if split not in corpus.alignments:
        return None, {"from": split, "words": 0, "note": f"the corpus has no alignments of split {split!r}"}
    variants = learn_variants(
        corpus.alignments[split], corpus.lexicon, options.variants_min_count, options.variants_min_share
    )
    return variants, {"from": split, "words": len(variants), "variants": sum(len(v) for v in variants.values())}


def _emissions(
    scorer: HybridScorer, token_map: TokenMap, features, utterances, options, timer: Timer, progress: bool
) -> dict[str, np.ndarray]:
    result = {}
    ids = [u.utt_id for u in utterances]
    for utt, log_posteriors in senone_log_posteriors(
        scorer.model, features, ids, options.batch_size, timer, progress, "AM"
    ):
        with timer:
            result[utt] = token_map.emissions(log_posteriors)
    return result


def _tune(scorer, token_map, features, corpus: AsrCorpus, search: LexiconSearch, options, progress) -> dict:
    """Grid search of LM weight x word score on ``options.tune_split``; the lowest WER wins (first on ties)."""
    split = options.tune_split
    utterances = corpus.splits[split]
    emissions = _emissions(scorer, token_map, features[split], utterances, options, Timer(), progress)
    references = {u.utt_id: u.words for u in utterances}
    grid = []
    for lm_weight in options.lm_weights:
        for word_score in options.word_scores:
            candidate = dataclasses.replace(options.search, lm_weight=lm_weight, word_score=word_score)
            search.set_options(candidate)
            hypotheses = {utt: search.decode(e) for utt, e in emissions.items()}
            summary, _ = score_corpus(references, hypotheses, corpus.lexicon)
            grid.append({"lm_weight": lm_weight, "word_score": word_score, "wer": summary["wer"]})
    best = min(range(len(grid)), key=lambda i: (grid[i]["wer"], i))
    chosen = dataclasses.replace(options.search, lm_weight=grid[best]["lm_weight"], word_score=grid[best]["word_score"])
    return {"split": split, "grid": grid, "chosen": chosen}
