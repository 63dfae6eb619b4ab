"""``crossdistill bench data``: synthesis speed (x real time) and log-mel feature throughput, on one core.

Synthesis runs ``synthesize_speaker`` in this process (eSpeak NG, effects, alignment, WAV writing: the
whole per-utterance path of ``crossdistill data synth`` minus process start-up) for a few speakers of the
chosen preset. Features time ``read_audio`` + ``compute_features`` over the utterances just written, with
one torch thread.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

SYNTHESIS_XRT_TARGET = 300.0
FEATURES_UTT_PER_S_TARGET = 500.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="medium", help="synthesis preset (default: medium, as in docs/data.md)")
    parser.add_argument("--speakers", type=int, default=3, help="speakers to synthesize (default 3)")
    parser.add_argument("--utterances-per-speaker", type=int, default=40, help="utterances each (default 40)")
    parser.add_argument("--n-mels", type=int, default=40, help="mel bins for the feature timing (default 40)")
    parser.add_argument("--feature-passes", type=int, default=3, help="passes over the utterances; best kept")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> dict:
    from crossdistill.data.audio import read_audio
    from crossdistill.data.features import FeatureConfig, compute_features
    from crossdistill.data.grammar import load_grammar
    from crossdistill.data.speakers import get_preset, sample_speaker
    from crossdistill.data.synth import SpeakerTask, UtterancePlan, synthesize_speaker

    torch.set_num_threads(1)
    preset = get_preset(args.preset)
    phrasings = load_grammar().phrasings
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="crossdistill-bench-data-") as tmp:
        tasks = []
        for i in range(args.speakers):
            speaker = sample_speaker(np.random.default_rng([args.seed, i]), f"spk{i:03d}", preset.difficulty)
            picks = rng.choice(len(phrasings), size=args.utterances_per_speaker)
            plans = tuple(UtterancePlan(f"spk{i:03d}_{k:04d}", phrasings[j]) for k, j in enumerate(picks))
            tasks.append(SpeakerTask(speaker, i, plans, args.seed, tmp))
        synthesize_speaker(replace(tasks[0], utterances=tasks[0].utterances[:2]))  # warm-up: library load
        start, cpu_start = time.perf_counter(), time.process_time()
        results = [synthesize_speaker(task) for task in tasks]
        synth_wall, synth_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        audio_s = sum(u.duration for r in results for u in r.utterances)
        paths = [Path(tmp) / u.path for r in results for u in r.utterances]

        config = FeatureConfig(n_mels=args.n_mels)
        best = float("inf")
        for _ in range(max(1, args.feature_passes)):
            start = time.perf_counter()
            for path in paths:
                compute_features(read_audio(path), config)
            best = min(best, time.perf_counter() - start)
    synthesis_xrt = audio_s / synth_wall
    features_utt_per_s = len(paths) / best
    return {
        "preset": preset.name,
        "utterances": len(paths),
        "synthesis_audio_s": round(audio_s, 2),
        "synthesis_wall_s": round(synth_wall, 3),
        "synthesis_xrt": round(synthesis_xrt, 1),
        # The same on this process's CPU time: what one core gives when other jobs share the machine.
        "synthesis_xrt_cpu": round(audio_s / synth_cpu, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "synthesis_xrt_target": SYNTHESIS_XRT_TARGET,
        "features_n_mels": args.n_mels,
        "features_utt_per_s": round(features_utt_per_s, 1),
        "features_utt_per_s_target": FEATURES_UTT_PER_S_TARGET,
        "meets_targets": synthesis_xrt >= SYNTHESIS_XRT_TARGET and features_utt_per_s >= FEATURES_UTT_PER_S_TARGET,
        "torch_threads": torch.get_num_threads(),
    }
