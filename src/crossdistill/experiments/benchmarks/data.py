"""``crossdistill bench data``: synthesis speed (x real time) per engine and log-mel feature throughput, on one core.

Synthesis runs ``synthesize_speaker`` in this process (engine, effects, alignment, WAV writing: the whole
per-utterance path of ``crossdistill data synth`` minus process start-up) for a few speakers of the chosen preset:
first eSpeak NG's speakers as ``data synth`` draws them (the top-level numbers, comparable with earlier runs), then,
under ``engines``, the same number of speakers of each engine (``--engines``, default every installed one), with
the real-time factor of the whole path and of the engine's own ``synthesize`` alone. Features time ``read_audio`` +
``compute_features`` over eSpeak's utterances, with one torch thread.
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
_STREAM_ENGINE = 8  # as crossdistill.data.synth draws a speaker's engine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from crossdistill.cli.engine_arguments import add_engines_argument

    parser.add_argument("--preset", default="medium", help="synthesis preset (default: medium, as in docs/data.md)")
    parser.add_argument("--speakers", type=int, default=3, help="speakers to synthesize, per engine (default 3)")
    parser.add_argument("--utterances-per-speaker", type=int, default=40, help="utterances each (default 40)")
    parser.add_argument("--n-mels", type=int, default=40, help="mel bins for the feature timing (default 40)")
    parser.add_argument("--feature-passes", type=int, default=3, help="passes over the utterances; best kept")
    parser.add_argument("--seed", type=int, default=0)
    add_engines_argument(parser, default="every installed engine")


def run(args: argparse.Namespace) -> dict:
    from crossdistill.data.engines import installed_engines, parse_engines, resolve_engines
    from crossdistill.data.speakers import get_preset

    torch.set_num_threads(1)
    preset = get_preset(args.preset)
    selection = resolve_engines(parse_engines(args.engines) if args.engines is not None else installed_engines())
    with tempfile.TemporaryDirectory(prefix="crossdistill-bench-data-") as tmp:
        engines = {name: _time_engine(args, preset, name, voices, tmp) for name, voices in selection.voices.items()}
        espeak = engines.get("espeak") or _time_engine(args, preset, "espeak", (), tmp)
        paths = espeak.pop("paths")
        for timing in engines.values():
            timing.pop("paths", None)
        config_features = _time_features(paths, args)
    audio_s, wall_s, cpu_s = espeak["audio_s"], espeak["wall_s"], espeak["cpu_s"]
    synthesis_xrt = audio_s / wall_s
    return {
        "preset": preset.name,
        "utterances": espeak["utterances"],
        "synthesis_audio_s": round(audio_s, 2),
        "synthesis_wall_s": round(wall_s, 3),
        "synthesis_xrt": round(synthesis_xrt, 1),
        # The same on this process's CPU time: what one core gives when other jobs share the machine.
        "synthesis_xrt_cpu": round(audio_s / cpu_s, 1),
        "engines": {name: _engine_summary(timing) for name, timing in engines.items()},
        "engines_skipped": selection.skipped,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "synthesis_xrt_target": SYNTHESIS_XRT_TARGET,
        **config_features,
        "meets_targets": synthesis_xrt >= SYNTHESIS_XRT_TARGET
        and config_features["features_utt_per_s"] >= FEATURES_UTT_PER_S_TARGET,
        "torch_threads": torch.get_num_threads(),
    }


def _time_engine(args: argparse.Namespace, preset, engine: str, voices, tmp: str) -> dict:
    """Synthesize ``args.speakers`` speakers of ``engine`` with the corpus's whole path, then the same texts with the
    engine alone; wall and CPU seconds of each (festival's CPU runs in its own process, so it is not counted)."""
    from crossdistill.data.engines import open_engine
    from crossdistill.data.engines.base import Prosody
    from crossdistill.data.grammar import load_grammar
    from crossdistill.data.speakers import draw_speaker
    from crossdistill.data.synth import SpeakerTask, UtterancePlan, synthesize_speaker

    phrasings = load_grammar().phrasings
    rng = np.random.default_rng(args.seed)
    tasks = []
    for i in range(args.speakers):
        speaker_id = f"{engine}{i:03d}"
        own = {engine: [voices[i % len(voices)]] if voices else ()}  # flite's, festival's voices in turn
        speaker = draw_speaker(np.random.default_rng([args.seed, _STREAM_ENGINE, i]),
                               np.random.default_rng([args.seed, i]), speaker_id, preset.difficulty, own)  # fmt: skip
        picks = rng.choice(len(phrasings), size=args.utterances_per_speaker)
        plans = tuple(UtterancePlan(f"{speaker_id}_{k:04d}", phrasings[j]) for k, j in enumerate(picks))
        tasks.append(SpeakerTask(speaker, i, plans, args.seed, tmp))
    synthesize_speaker(replace(tasks[0], utterances=tasks[0].utterances[:2]))  # warm-up: library load, process start
    start, cpu_start = time.perf_counter(), time.process_time()
    results = [synthesize_speaker(task) for task in tasks]
    wall_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    utterances = [u for r in results for u in r.utterances]

    opened, per_voice = open_engine(engine), {}
    for task in tasks:
        s = task.speaker
        prosody = Prosody(s.rate, s.pitch, s.pitch_range, s.word_gap, seed=0)
        seconds = per_voice.setdefault(s.voice, [0.0, 0.0])  # [audio, wall]
        for plan in task.utterances:
            start = time.perf_counter()
            said = opened.synthesize(plan.phrasing.text, s.voice, prosody)
            seconds[1] += time.perf_counter() - start
            seconds[0] += said.audio.shape[0] / said.sample_rate
    return {
        "voices": sorted({task.speaker.voice for task in tasks}),
        "utterances": len(utterances),
        "dropped": sum(len(r.dropped) for r in results),
        "audio_s": sum(u.duration for u in utterances),
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "in_process": engine != "festival",
        "engine_seconds": per_voice,
        "paths": [Path(tmp) / u.path for u in utterances],
    }


def _engine_summary(timing: dict) -> dict:
    """Real-time factors (seconds of work per second of audio; lower is faster) and x real time, per engine."""
    seconds = timing["engine_seconds"]
    summary = {
        "voices": timing["voices"],
        "utterances": timing["utterances"],
        "dropped": timing["dropped"],
        "audio_s": round(timing["audio_s"], 2),
        "wall_s": round(timing["wall_s"], 3),
        "rtf": round(timing["wall_s"] / timing["audio_s"], 5),
        "xrt": round(timing["audio_s"] / timing["wall_s"], 1),
        # festival synthesizes in its own process, whose CPU time this process does not see.
        "rtf_cpu": round(timing["cpu_s"] / timing["audio_s"], 5) if timing["in_process"] else None,
        # The engine's own synthesize() alone (no effects, alignment or writing), per second of its own audio.
        "engine_rtf": round(sum(w for _, w in seconds.values()) / sum(a for a, _ in seconds.values()), 5),
        "engine_rtf_per_voice": {voice: round(w / a, 5) for voice, (a, w) in sorted(seconds.items())},
    }
    return summary


def _time_features(paths: list[Path], args: argparse.Namespace) -> dict:
    from crossdistill.data.audio import read_audio
    from crossdistill.data.features import FeatureConfig, compute_features

    config = FeatureConfig(n_mels=args.n_mels)
    best = float("inf")
    for _ in range(max(1, args.feature_passes)):
        start = time.perf_counter()
        for path in paths:
            compute_features(read_audio(path), config)
        best = min(best, time.perf_counter() - start)
    return {
        "features_n_mels": args.n_mels,
        "features_utt_per_s": round(len(paths) / best, 1),
        "features_utt_per_s_target": FEATURES_UTT_PER_S_TARGET,
    }
