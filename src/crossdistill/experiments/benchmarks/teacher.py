"""``crossdistill bench teacher``: text-teacher inference throughput and teacher-cache build time, and what
computing once per unique transcript saves over computing once per utterance.

Corpus: ``--corpus DIR`` (any FSC-layout corpus), or by default the *default synthetic corpus's*
transcripts (preset ``default``: 97 speakers x 310 utterances, FSC's size), planned exactly as
``crossdistill data synth`` plans them (same speakers, splits, phrasing per utterance, seed) but without
synthesizing any audio: the teacher reads transcripts only, and synthesizing 30k utterances would dominate
the benchmark.

Teacher: ``--teacher DIR`` (a trained one), or by default an untrained one with the corpus's label set
(``--arch``/``--encoder``; MiniLM by default). Inference cost does not depend on the weights' values.

Timings (wall clock, after a warm-up batch):
  * ``throughput_transcripts_per_s``: teacher forward passes (tokenization included) over
    ``--throughput-texts`` transcripts drawn from the corpus, in batches of ``--batch-size``.
  * ``cache_build_s``: ``build_teacher_cache`` end to end (key, teacher load, per-unique computation of
    logits + entropy + D with N masks, fan-out, atomic write).
  * ``per_unique_compute_s`` / ``per_utterance_compute_s``: ``compute_teacher_outputs`` on the unique
    transcripts / on every utterance's transcript; ``per_utterance_over_per_unique`` is their ratio.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import tempfile
import time
from pathlib import Path

import torch

from crossdistill.kd import DEFAULT_N_MASKS, DEFAULT_P


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus",
        type=Path,
        help="FSC-layout corpus (default: the default synthetic corpus's transcripts, planned without audio)",
    )
    parser.add_argument("--preset", default="default", help="synthetic preset planned when --corpus is absent")
    parser.add_argument("--speakers", type=int, help="speakers of the planned corpus (default: the preset's)")
    parser.add_argument("--utterances-per-speaker", type=int, help="of the planned corpus (default: the preset's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the planned corpus and of D's masks")
    parser.add_argument("--teacher", type=Path, help="trained teacher folder (default: an untrained one)")
    parser.add_argument(
        "--arch",
        choices=("transformer", "scratch"),
        default="transformer",
        help="architecture of the untrained teacher (default transformer)",
    )
    parser.add_argument("--encoder", default="minilm", help="encoder of the untrained teacher (default minilm)")
    parser.add_argument("--max-length", type=int, default=32, help="word pieces per transcript (default 32)")
    parser.add_argument("--batch-size", type=int, default=64, help="transcripts per batch (default 64)")
    parser.add_argument("--n-masks", type=int, default=DEFAULT_N_MASKS, help="N for D (default %(default)s)")
    parser.add_argument("--p", type=float, default=DEFAULT_P, help="p for D (default %(default)s)")
    parser.add_argument("--throughput-texts", type=int, default=2048, help="transcripts timed for throughput")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")


def plan_synthetic_corpus(
    preset: str = "default",
    seed: int = 0,
    speakers: int | None = None,
    utterances_per_speaker: int | None = None,
    split: str = "random",
):
    """Return the corpus ``crossdistill data synth`` would write with these options, minus the audio.

    Utterance ids, speakers, splits, transcripts and labels match the synthesizer's plan; audio paths point
    at files that do not exist (nothing here reads audio).
    """
    from crossdistill.data.corpus import Corpus, LabelSet, Utterance
    from crossdistill.data.speakers import get_preset
    from crossdistill.data.synth import plan_corpus

    chosen = get_preset(preset)
    n_speakers = chosen.speakers if speakers is None else speakers
    per_speaker = chosen.utterances_per_speaker if utterances_per_speaker is None else utterances_per_speaker
    # The synthesizer's own plan, so the planned corpus is the synthesized corpus's (a test compares the two).
    plan = plan_corpus(n_speakers, per_speaker, chosen.difficulty, seed, split)
    split_of, plans = plan.split_of, plan.utterances
    root = Path(tempfile.gettempdir()) / f"crossdistill-planned-{preset}-{seed}"
    splits: dict[str, list[Utterance]] = {"train": [], "valid": [], "test": []}
    for index, (speaker_split, speaker_plans) in enumerate(zip(split_of, plans, strict=True)):
        speaker = f"spk{index:03d}"
        for utterance in speaker_plans:
            utt_id = f"wavs/speakers/{speaker}/{utterance.name}"
            phrasing = utterance.phrasing
            splits[speaker_split].append(
                Utterance(utt_id, root / f"{utt_id}.wav", speaker, phrasing.text, *phrasing.intent)
            )
    return Corpus(root, splits, LabelSet.from_utterances(splits["train"]))


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run(args: argparse.Namespace) -> dict:
    from crossdistill.data.corpus import load_corpus
    from crossdistill.teachers.text import (
        CacheOptions,
        TrainOptions,
        build_teacher,
        build_teacher_cache,
        compute_teacher_outputs,
        load_teacher,
        predict,
        save_teacher,
    )
    from crossdistill.teachers.text.cache import corpus_transcripts
    from crossdistill.teachers.text.examples import unique_texts

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.corpus is not None:
        corpus, corpus_name = load_corpus(args.corpus, check_audio=False), str(args.corpus)
    else:
        corpus, corpus_name = (
            plan_synthetic_corpus(args.preset, args.seed, args.speakers, args.utterances_per_speaker),
            f"planned synthetic preset {args.preset!r} (transcripts only)",
        )
    options = CacheOptions(n_masks=args.n_masks, p=args.p, seed=args.seed)
    texts = [text for _, text in corpus_transcripts(corpus)]
    unique, _ = unique_texts(texts)

    with tempfile.TemporaryDirectory(prefix="crossdistill-bench-teacher-") as tmp:
        teacher_dir = args.teacher
        if teacher_dir is None:
            teacher_dir = Path(tmp) / "teacher"
            torch.manual_seed(0)
            train_options = TrainOptions(arch=args.arch, encoder=args.encoder, max_length=args.max_length)
            save_teacher(build_teacher(train_options.teacher_config(corpus)).eval(), teacher_dir)
        teacher = load_teacher(teacher_dir)

        predict(teacher, unique[: args.batch_size], batch_size=args.batch_size)  # warm-up
        sample = list(itertools.islice(itertools.cycle(texts), args.throughput_texts))
        _, forward_s = _timed(lambda: predict(teacher, sample, batch_size=args.batch_size))

        _, cache_s = _timed(
            lambda: build_teacher_cache(
                teacher_dir, corpus, options, out=Path(tmp) / "cache", progress=False, batch_size=args.batch_size
            )
        )

        def outputs(some_texts):
            return compute_teacher_outputs(
                teacher, some_texts, options.n_masks, options.p, options.seed, batch_size=args.batch_size
            )

        _, unique_s = _timed(lambda: outputs(unique))
        _, utterance_s = _timed(lambda: outputs(texts))

    return {
        "corpus": corpus_name,
        "utterances": len(texts),
        "unique_transcripts": len(unique),
        "teacher": str(args.teacher)
        if args.teacher
        else f"untrained {args.arch}" + (f" ({args.encoder})" if args.arch == "transformer" else ""),
        "heads": list(teacher.config.heads),
        "max_length": teacher.config.max_length,
        "batch_size": args.batch_size,
        "n_masks": options.n_masks,
        "p": options.p,
        "throughput_transcripts_per_s": round(len(sample) / forward_s, 1),
        "cache_build_s": round(cache_s, 3),
        "per_unique_compute_s": round(unique_s, 3),
        "per_utterance_compute_s": round(utterance_s, 3),
        "per_utterance_over_per_unique": round(utterance_s / unique_s, 1),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
