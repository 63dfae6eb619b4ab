"""``crossdistill bench asr-data``: paper 001's corpus synthesis speed, feature throughput and corpus size.

One run synthesizes a preset (``tiny`` by default; ``small`` is the demo size) into a temporary folder with
one worker process. ``synthesis_xrt`` is audio seconds per wall second of that one core for the speakers
stage (eSpeak, effects, alignment, FLAC writing, a fresh process per speaker; text loading and the lexicon
are timed apart); ``synthesis_xrt_cpu`` is the same per CPU second of the workers (start-up excluded).
Then the 80-dim fbank features of every utterance are computed with one thread. ``lm_words`` and
``train_hours`` are the synthesized corpus's. The ``default_estimate`` block extrapolates the ``default``
preset's synthesis-and-features time on 2 cores from these measurements (labelled as an extrapolation:
it assumes ``default`` sentences as long as the measured preset's and a perfect 2-core split).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

SYNTHESIS_XRT_TARGET = 300.0  # audio seconds per wall second, per core
DEFAULT_BUDGET_S = 600.0  # the default preset synthesizes and featurizes in 10 min on 2 cores


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="tiny", help="preset to synthesize (default tiny; small is the demo)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--text-source", choices=("sample", "debian"), help="override the preset's text source")


def run(args: argparse.Namespace) -> dict:
    import torch

    from crossdistill.data.asr.features import load_or_compute_fbank
    from crossdistill.data.asr.librispeech import load_asr_corpus
    from crossdistill.data.asr.synth import get_preset, synthesize_asr_corpus

    torch.set_num_threads(1)
    preset = get_preset(args.preset)
    with tempfile.TemporaryDirectory(prefix="crossdistill-bench-asr-data-") as tmp:
        timings: dict[str, float] = {}
        start = time.perf_counter()
        out = synthesize_asr_corpus(
            Path(tmp) / "corpus", preset.name, seed=args.seed, jobs=1, text_source=args.text_source,
            progress=False, timings=timings,
        )  # fmt: skip
        synth_total_s = time.perf_counter() - start
        corpus = load_asr_corpus(out, progress=False)
        utterances = corpus.utterances()
        audio_s = sum(u.duration for u in utterances)
        start = time.perf_counter()
        load_or_compute_fbank(corpus, cache_dir=Path(tmp) / "cache", progress=False)
        features_s = time.perf_counter() - start
        counts = corpus.metadata["counts"]
        lm_words = corpus.metadata["text"]["lm_words"]

    synthesis_xrt = audio_s / timings["speakers_s"]
    result = {
        "preset": preset.name,
        "utterances": len(utterances),
        "audio_s": round(audio_s, 2),
        "train_hours": counts["train"]["hours"],
        "lm_words": lm_words,
        "synthesis_speakers_wall_s": round(timings["speakers_s"], 3),
        "synthesis_text_s": round(timings["text_s"], 3),
        "synthesis_shared_files_s": round(timings["shared_s"], 3),
        "synthesis_total_wall_s": round(synth_total_s, 3),
        "synthesis_xrt": round(synthesis_xrt, 1),
        # Audio seconds per CPU second inside the workers (process start-up excluded): what one free core gives
        # when other jobs share the machine.
        "synthesis_xrt_cpu": round(audio_s / timings["speakers_cpu_s"], 1),
        "synthesis_xrt_target": SYNTHESIS_XRT_TARGET,
        "features_wall_s": round(features_s, 3),
        "features_utt_per_s": round(len(utterances) / features_s, 1),
        "features_xrt": round(audio_s / features_s, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    same_text = corpus.metadata["options"]["text_source"] == get_preset("default").text
    result["default_estimate"] = _extrapolate_default(result, audio_s / len(utterances), same_text)
    result["meets_targets"] = synthesis_xrt >= SYNTHESIS_XRT_TARGET and result["default_estimate"]["within_budget"]
    return result


def _extrapolate_default(measured: dict, mean_utterance_s: float, same_text: bool) -> dict:
    """The default preset's time on 2 cores, from this run's rates (an extrapolation, not a measurement)."""
    from crossdistill.data.asr.synth import get_preset

    default = get_preset("default")
    utterances = sum(default.speakers.values()) * default.utterances_per_speaker
    audio_s = utterances * mean_utterance_s
    synthesis_s = audio_s / measured["synthesis_xrt"] / 2
    features_s = utterances / measured["features_utt_per_s"]  # one process
    total_s = synthesis_s + features_s + measured["synthesis_text_s"] + measured["synthesis_shared_files_s"]
    return {
        "extrapolated": True,
        "utterances": utterances,
        "audio_hours": round(audio_s / 3600, 2),
        "synthesis_s_2_cores": round(synthesis_s, 1),
        "features_s": round(features_s, 1),
        "total_s": round(total_s, 1),
        "budget_s": DEFAULT_BUDGET_S,
        "within_budget": total_s <= DEFAULT_BUDGET_S,
        "note": "rates and text/lexicon times of the measured preset, whose text source is "
        + ("the default's" if same_text else "not the default's: its text and lexicon times are smaller")
        + "; synthesis assumed to split perfectly over 2 workers",
    }
