"""``crossdistill data``: synthesize the built-in corpus, check a corpus, precompute features."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from crossdistill.cli.engine_arguments import add_engines_argument, add_held_out_engine_argument
    from crossdistill.data.splits import DEFAULT_SPLIT, SPLIT_KINDS

    parser = subparsers.add_parser("data", help="speech corpora: synthesize, check, precompute features")
    commands = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    synth = commands.add_parser(
        "synth",
        help="synthesize the built-in SLU corpus (eSpeak NG; --engines adds flite, festival) in the Fluent Speech "
        "Commands layout",
        description="Writes data/{train,valid,test}_data.csv, wavs/speakers/<speaker>/<name>.wav (16 kHz mono), "
        "word/phoneme alignments and corpus.json. Same options and seed give byte-identical files.",
    )
    synth.add_argument("--out", type=Path, required=True, help="output folder (must not exist or be empty)")
    synth.add_argument("--preset", default="default", help="preset in data/presets.yaml (tiny, small, easy, ...)")
    synth.add_argument("--speakers", type=int, help="number of speakers (default: the preset's)")
    synth.add_argument("--utterances-per-speaker", type=int, help="utterances per speaker (default: the preset's)")
    synth.add_argument("--valid-speakers", type=int, help="valid speakers (default: the preset's, else FSC's share)")
    synth.add_argument("--test-speakers", type=int, help="test speakers (default: the preset's, else FSC's share)")
    synth.add_argument(
        "--label-noise",
        type=float,
        help="share of training utterances given a wrong intent, in [0, 1), recorded in data/train_label_noise.csv "
        "(default: the preset's, 0 for most)",
    )
    synth.add_argument(
        "--split",
        choices=SPLIT_KINDS,
        default=DEFAULT_SPLIT,
        help="random: speaker-disjoint, every phrasing in every split (default); unseen-utterance: valid/test "
        "phrasings never said in training; unseen-speaker: valid/test voices never heard in training; unseen-engine: "
        "a second test set, test_unseen_engine, of the --held-out-engine's speakers, an engine train/valid/test never "
        "use (docs/splits.md)",
    )
    add_held_out_engine_argument(synth)
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    synth.add_argument("--jobs", type=int, default=1, help="worker processes; 0 = all cores (default 1)")
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engines_argument(synth)
    synth.set_defaults(handler=run_synth)

    challenge = commands.add_parser(
        "challenge-split",
        help="a real FSC copy with Arora et al.'s challenge splits (their CSVs) as a corpus for every command",
        description="Reads train_data.csv, valid_data.csv and {utterance,speaker}_test_data.csv from --splits "
        "(distributed apart from FSC: github.com/maseEval/mase, slu_splits/fluent_speech_commands/challenge_splits "
        "or unseen_splits), checks every row against the FSC copy's own CSVs, and writes a split view to --out: "
        "data/{train,valid,test}_data.csv, corpus.json and a link to the copy's wavs/. Pass --out as --corpus.",
    )
    challenge.add_argument("--fsc", type=Path, required=True, help="the FSC copy (holds data/ and wavs/)")
    challenge.add_argument("--splits", type=Path, required=True, help="folder holding the challenge-split CSVs")
    challenge.add_argument(
        "--test", choices=("utterance", "speaker"), required=True, help="which test set becomes the test split"
    )
    challenge.add_argument("--out", type=Path, required=True, help="the view's folder (must not exist or be empty)")
    challenge.set_defaults(handler=run_challenge_split)

    _register_augment(commands)

    info = commands.add_parser(
        "info",
        help="validate a corpus in the FSC layout (real or synthetic) and print a JSON summary",
    )
    info.add_argument("root", type=Path, help="corpus root (holds data/ and wavs/)")
    info.set_defaults(handler=run_info)

    features = commands.add_parser(
        "features",
        help="compute and cache log-mel features of a corpus (25 ms / 10 ms)",
        description="Cached under CACHE_DIR/features/<key>, keyed by the audio list and the feature config.",
    )
    features.add_argument("root", type=Path, help="corpus root")
    features.add_argument("--n-mels", type=int, default=40, help="mel bins (default 40)")
    features.add_argument(
        "--cache-dir", type=Path, help="cache root (default $CROSSDISTILL_CACHE or ~/.cache/crossdistill)"
    )
    features.set_defaults(handler=run_features)


def run_synth(args: argparse.Namespace) -> int:
    from crossdistill.data.speakers import preset_names
    from crossdistill.data.synth import synthesize_corpus

    if args.preset not in preset_names():
        raise ValueError(f"--preset {args.preset!r} is unknown; choose one of {', '.join(preset_names())}")
    out = synthesize_corpus(
        args.out,
        preset=args.preset,
        speakers=args.speakers,
        utterances_per_speaker=args.utterances_per_speaker,
        seed=args.seed,
        jobs=args.jobs,
        progress=not args.quiet,
        valid_speakers=args.valid_speakers,
        test_speakers=args.test_speakers,
        label_noise=args.label_noise,
        split=args.split,
        engines=args.engines,
        held_out_engine=args.held_out_engine,
    )
    print(json.dumps(_summary(out)))
    return 0


def run_challenge_split(args: argparse.Namespace) -> int:
    from crossdistill.data.challenge_splits import build_challenge_view

    out = build_challenge_view(args.fsc, args.splits, args.test, args.out)
    print(json.dumps(_summary(out)))
    return 0


def _register_augment(commands: argparse._SubParsersAction) -> None:
    from crossdistill.data.augment.options import DEFAULT_ROOMS, DEFAULT_SPEEDS

    speeds = ",".join(map(str, DEFAULT_SPEEDS))
    augment = commands.add_parser(
        "augment",
        help="a new corpus whose training split also holds speed-perturbed, noisy, reverberant copies (Kaldi style)",
        description="Reads a finished corpus in the FSC or the LibriSpeech layout and writes a new one in the same "
        "layout: the training split gains one copy per --speed factor other than 1.0 (speakers sp0.9-..., or "
        "numeric ids in the LibriSpeech layout), each with optional noise and reverberation, alignments rescaled; "
        "valid/dev and test are unchanged. Same options and seed give byte-identical files (docs/data.md).",
    )
    augment.add_argument("--corpus", type=Path, required=True, help="the corpus to augment (never written)")
    augment.add_argument("--out", type=Path, required=True, help="the new corpus's folder (must not exist or be empty)")
    augment.add_argument(
        "--speed",
        default=speeds,
        help=f"speed factors, comma-separated (default {speeds}); 1.0 keeps the original, and makes a copy "
        "only when --noise-snr or --reverb is given",
    )
    augment.add_argument(
        "--noise-snr",
        metavar="LOW:HIGH",
        help="add white/pink/brown noise to each copy at an SNR in dB drawn from LOW:HIGH (write --noise-snr=-5:20 "
        "for a negative LOW); default: no noise",
    )
    augment.add_argument(
        "--reverb", type=float, default=0.0, metavar="P", help="probability that a copy is reverberated (default 0)"
    )
    augment.add_argument(
        "--rooms",
        type=int,
        default=DEFAULT_ROOMS,
        help=f"simulated rooms the reverberated copies draw from (default {DEFAULT_ROOMS})",
    )
    augment.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    augment.add_argument("--jobs", type=int, default=1, help="worker processes; 0 = all cores (default 1)")
    augment.add_argument("--quiet", action="store_true", help="no progress bar")
    augment.set_defaults(handler=run_augment)


def run_augment(args: argparse.Namespace) -> int:
    from crossdistill.data.augment import AugmentOptions, augment_corpus, parse_snr_range, parse_speeds
    from crossdistill.data.augment.run import describe_augmentation

    noise = None if args.noise_snr is None else parse_snr_range(args.noise_snr)
    options = AugmentOptions(parse_speeds(args.speed), noise, args.reverb, args.rooms, args.seed)
    out = augment_corpus(args.corpus, args.out, options, jobs=args.jobs, progress=not args.quiet)
    print(json.dumps(describe_augmentation(out)))
    return 0


def run_info(args: argparse.Namespace) -> int:
    print(json.dumps(_summary(args.root), indent=2))
    return 0


def run_features(args: argparse.Namespace) -> int:
    from crossdistill.data.corpus import load_corpus
    from crossdistill.data.features import FeatureConfig, feature_cache_dir, load_or_compute_features

    corpus = load_corpus(args.root)
    config = FeatureConfig(n_mels=args.n_mels)
    splits = load_or_compute_features(corpus, config, args.cache_dir)
    summary = {
        "cache": str(feature_cache_dir(corpus, config, args.cache_dir)),
        "frames": {split: int(s.lengths.sum()) for split, s in splits.items()},
    }
    print(json.dumps(summary))
    return 0


def _summary(root: Path) -> dict:
    from crossdistill.data.audio import describe_format
    from crossdistill.data.corpus import load_corpus
    from crossdistill.data.label_noise import read_label_noise
    from crossdistill.data.splits import recorded_split

    corpus = load_corpus(root)
    noise = read_label_noise(corpus)  # checked against the training CSV
    phrasings = {split: {u.transcription for u in utts} for split, utts in corpus.splits.items()}
    return {
        "root": str(corpus.root),
        "utterances": {split: len(utts) for split, utts in corpus.splits.items()},
        "speakers": {split: len({u.speaker_id for u in utts}) for split, utts in corpus.splits.items()},
        "intents": len(corpus.labels.intents),
        "slot_values": {slot: len(corpus.labels.slot_values(slot)) for slot in corpus.labels.SLOTS},
        "audio_formats": {describe_format(*fmt): n for fmt, n in sorted(corpus.audio_formats.items())},
        "alignments": corpus.has_alignments(),
        "fingerprint": corpus.fingerprint(),
        "split": recorded_split(corpus.metadata),
        "phrasings": {split: len(texts) for split, texts in phrasings.items()},
        "phrasings_unseen_in_train": {s: len(phrasings[s] - phrasings["train"]) for s in ("valid", "test")},
        "label_noise_train_rows": 0 if noise is None else len(noise),
    }
