"""Measure hybrid decoding and alignment with an oracle AM (docs/asr.md, "Decoding and alignment").

The oracle AM (``crossdistill.train.asr.hybrid_decoding.oracle``) puts ``--peak`` of each frame's probability on the
senone of the reference frame labels and spreads the rest evenly. Decoding and aligning its scores checks the
decoder and the aligner themselves, independent of any trained model. It is not a result of a model.

    .venv/bin/python scripts/measure_hybrid_decoding.py --corpus CORPUS --units UNITS [--lm-cache DIR] \\
        [--prune 0 1 1] [--beam-tokens 32] [--no-lm] [--no-variants]

Tunes the LM weight x word score on the dev split, then decodes and aligns the test split; prints JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

from crossdistill.data.asr.librispeech import load_asr_corpus
from crossdistill.data.asr.word_lm import WordLmOptions, build_word_lm
from crossdistill.train.asr.hybrid_decoding.alignment import (
    align_utterance,
    combine_boundary_errors,
    phone_boundary_errors,
)
from crossdistill.train.asr.hybrid_decoding.options import HybridDecodeOptions, SearchOptions
from crossdistill.train.asr.hybrid_decoding.oracle import open_oracle
from crossdistill.train.asr.hybrid_decoding.pronunciations import learn_variants
from crossdistill.train.asr.hybrid_decoding.scoring import score_corpus
from crossdistill.train.asr.hybrid_decoding.search import LexiconSearch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--units", required=True)
    parser.add_argument("--lm-cache")
    parser.add_argument("--prune", type=int, nargs="+", default=list(WordLmOptions().prune))
    parser.add_argument("--no-lm", action="store_true")
    parser.add_argument("--no-variants", action="store_true", help="no pronunciation variants from train alignments")
    parser.add_argument("--beam", type=int, default=SearchOptions().beam)
    parser.add_argument("--beam-tokens", type=int)
    parser.add_argument("--peak", type=float, default=0.9)
    parser.add_argument("--lm-weights", type=float, nargs="+", default=list(HybridDecodeOptions().lm_weights))
    parser.add_argument("--word-scores", type=float, nargs="+", default=list(HybridDecodeOptions().word_scores))
    args = parser.parse_args()

    corpus = load_asr_corpus(args.corpus, progress=False)
    oracle = open_oracle(args.units, args.peak)
    report: dict = {"peak": args.peak, "senones": oracle.senones, "lexicon_words": len(corpus.lexicon)}
    lm = None
    if not args.no_lm:
        built = build_word_lm(corpus.lm_text, WordLmOptions(prune=tuple(args.prune)), args.lm_cache)
        lm = built.path
        report["word_lm"] = {
            key: built.summary[key] for key in ("ngrams", "arpa_bytes", "binary_bytes", "lmplz_seconds")
        }
    variants = None
    if not args.no_variants:
        defaults = HybridDecodeOptions()
        variants = learn_variants(
            corpus.alignments["train"], corpus.lexicon, defaults.variants_min_count, defaults.variants_min_share
        )
        report["variants"] = {"words": len(variants), "variants": sum(map(len, variants.values()))}
    started = time.perf_counter()
    options = SearchOptions(beam=args.beam, beam_tokens=args.beam_tokens)
    search = LexiconSearch(corpus.lexicon, lm, options, variants)
    report["lm_load_seconds"] = round(time.perf_counter() - started, 3)

    def emissions(split: str) -> dict[str, np.ndarray]:
        return {
            u.utt_id: oracle.token_map.emissions(oracle.log_posteriors(split, u.utt_id)) for u in corpus.splits[split]
        }

    def decode(split: str, scores: dict[str, np.ndarray]) -> tuple[dict, float]:
        started = time.perf_counter()
        hypotheses = {utt: search.decode(e) for utt, e in scores.items()}
        seconds = time.perf_counter() - started
        summary, _ = score_corpus({u.utt_id: u.words for u in corpus.splits[split]}, hypotheses, corpus.lexicon)
        return summary, seconds

    dev = emissions("dev")
    grid = []
    for lm_weight in args.lm_weights if lm else [0.0]:
        for word_score in args.word_scores:
            search.set_options(dataclasses.replace(search.options, lm_weight=lm_weight, word_score=word_score))
            grid.append({"lm_weight": lm_weight, "word_score": word_score, "dev_wer": decode("dev", dev)[0]["wer"]})
    best = min(grid, key=lambda g: g["dev_wer"])
    search.set_options(dataclasses.replace(search.options, lm_weight=best["lm_weight"], word_score=best["word_score"]))
    summary, seconds = decode("test", emissions("test"))
    audio = sum(u.duration for u in corpus.splits["test"])
    report["tuning_on_dev"] = grid
    report["search"] = dataclasses.asdict(search.options)
    report["test"] = {
        key: summary[key] for key in ("wer", "substitutions", "deletions", "insertions", "reference_words")
    }
    report["test"]["search_rtf"] = round(seconds / audio, 5)

    started = time.perf_counter()
    table = oracle.tree.table()
    parts, fallbacks = [], 0
    for u in corpus.splits["test"]:
        scores = oracle.log_posteriors("test", u.utt_id) - oracle.log_priors
        aligned = align_utterance(u.words, corpus.lexicon, table, scores, u.duration)
        fallbacks += aligned.fallback
        parts.append(phone_boundary_errors(corpus.alignments["test"][u.utt_id].phones, aligned.alignment.phones))
    report["test_alignment"] = {
        **combine_boundary_errors(parts).summary(),
        "fallback_utterances": fallbacks,
        "viterbi_rtf": round((time.perf_counter() - started) / audio, 5),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
