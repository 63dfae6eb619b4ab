"""``crossdistill bench seq2seq``: the seq2seq model's training throughput per objective and its decoding speed.

Training: each objective times the whole training step of ``crossdistill asr train`` (recipe seq2seq) on the same
synthetic batch in this process: padding the items into a batch (``Seq2SeqCollator``, full teacher rows over the
vocabulary), SpecAugment, the forward pass, the loss (``compute_step``: supervised CE; LST, paper 001 eq. 3, with its
tempered interpolated target; the multi-task head, eq. 4, with the second output layer and its KL), backward and the
Adam step. Overheads are each objective's step time over the supervised one's.

Decoding: the real-time factor (decoding seconds per second of audio) of the batched beam search at beam 1 and at the
recipe's default beam, and at the default beam with joint CTC/attention decoding (``--ctc-weight``, a model with its
CTC layer; ``joint_ctc_over_attention`` is its cost over attention alone). The model is untrained, so ``</s>`` is
banned and every hypothesis runs to the same length, the number of target tokens a transcript of that duration has
(``--tokens-per-second``): the cost of decoding such a transcript, not a trained model's early stops.

Sizes default to the recipe's (``crossdistill.train.asr.seq2seq_config``) and the units folder's 1,000 subwords.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch

from crossdistill.students.asr import BatchSpecAugment, SpecAugmentConfig
from crossdistill.students.asr.seq2seq import Seq2SeqASR, Seq2SeqConfig, beam_search
from crossdistill.train.asr.seq2seq_config import DecodeConfig, ModelOptions, ObjectiveConfig
from crossdistill.train.asr.seq2seq_data import Seq2SeqCollator
from crossdistill.train.asr.seq2seq_module import build_objective, compute_step

OBJECTIVES = {
    "supervised": ObjectiveConfig(),
    "lst": ObjectiveConfig("lst", 0.5),
    "multitask": ObjectiveConfig("multitask", 0.5),
}
SETTINGS = (
    "batch_size",
    "seconds",
    "tokens_per_second",
    "subwords",
    "steps",
    "rounds",
    "decode_utterances",
    "beam",
    "ctc_weight",
    "d_model",
    "encoder_layers",
    "decoder_layers",
    "threads",
    "seed",
)
SOS, EOS, FIRST_PIECE = 1, 2, 4  # the units folder's sentencepiece ids: <unk> <s> </s> <sil>, then the pieces


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=int, default=16, help="utterances per training step (default 16)")
    parser.add_argument("--seconds", type=float, default=5.0, help="mean utterance length in seconds (default 5)")
    parser.add_argument(
        "--tokens-per-second", type=float, default=4.0, help="target subwords per second of speech (default 4)"
    )
    parser.add_argument("--subwords", type=int, default=1000, help="subword inventory V (default 1000)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per objective and round (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the fastest counts (default 2)")
    parser.add_argument("--decode-utterances", type=int, default=8, help="utterances decoded per beam (default 8)")
    parser.add_argument(
        "--beam", type=int, default=DecodeConfig.beam, help=f"default beam (default {DecodeConfig.beam})"
    )
    parser.add_argument(
        "--ctc-weight",
        type=float,
        default=0.6,
        help="joint CTC/attention decoding weight of the joint measurement (default 0.6, the Fig. 3 default's)",
    )
    parser.add_argument("--d-model", type=int, default=ModelOptions.d_model)
    parser.add_argument("--encoder-layers", type=int, default=ModelOptions.encoder_layers)
    parser.add_argument("--decoder-layers", type=int, default=ModelOptions.decoder_layers)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one core)")
    parser.add_argument("--seed", type=int, default=0)


def make_items(args: argparse.Namespace, rng: np.random.Generator, count: int) -> list[dict]:
    """Synthetic dataset items: log-mel-like frames, target pieces and full teacher rows (n + 1, V)."""
    items = []
    for i in range(count):
        seconds = args.seconds * rng.uniform(0.8, 1.2)
        frames, tokens = int(seconds * 100), max(1, round(seconds * args.tokens_per_second))
        teacher = torch.softmax(torch.from_numpy(rng.normal(size=(tokens + 1, args.subwords)) * 3), dim=-1).float()
        items.append(
            {
                "utt_id": f"0-0-{i:04d}",
                "features": torch.from_numpy(rng.normal(size=(frames, 80)).astype(np.float32)),
                "tokens": torch.from_numpy(rng.integers(FIRST_PIECE, args.subwords, tokens)),
                "teacher": teacher,
            }
        )
    return items


def model_config(args: argparse.Namespace, kd_head: bool, ctc_head: bool = False) -> Seq2SeqConfig:
    sizes = ModelOptions(
        d_model=args.d_model,
        encoder_layers=args.encoder_layers,
        decoder_layers=args.decoder_layers,
        ff_dim=4 * args.d_model,
    )
    return Seq2SeqConfig(
        vocab_size=args.subwords, sos_id=SOS, eos_id=EOS, kd_head=kd_head, ctc_head=ctc_head, **vars(sizes)
    )


def _training_step(args: argparse.Namespace, name: str, items: list[dict]):
    torch.manual_seed(args.seed)
    model = Seq2SeqASR(model_config(args, kd_head=name == "multitask")).train()
    objective = build_objective(OBJECTIVES[name])
    augment = BatchSpecAugment(SpecAugmentConfig())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    collate = Seq2SeqCollator(SOS, EOS)
    selected = items if name != "supervised" else [{k: v for k, v in i.items() if k != "teacher"} for i in items]

    def step() -> None:
        batch = collate(selected)
        batch["features"] = augment(batch["features"], batch["lengths"])
        optimizer.zero_grad(set_to_none=True)
        compute_step(model, objective, batch).total.backward()
        optimizer.step()

    return step


def _median_seconds(step, steps: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def decoding_real_time_factor(args: argparse.Namespace, items: list[dict], beam: int, ctc_weight: float = 0.0) -> float:
    """Seconds of beam search per second of audio, every hypothesis decoded to its transcript's token count."""
    torch.manual_seed(args.seed)
    model = Seq2SeqASR(model_config(args, kd_head=False, ctc_head=ctc_weight > 0)).eval()
    audio = sum(item["features"].shape[0] for item in items) / 100
    started = time.perf_counter()
    for item in items:  # one at a time: each runs to its own length (batching is measured by the training side)
        limit = len(item["tokens"]) + 1
        beam_search(
            model,
            item["features"][None],
            torch.tensor([item["features"].shape[0]]),
            beam,
            max_tokens=limit,
            banned=[EOS, 0, SOS, 3],
            ctc_weight=ctc_weight,
        )
    return (time.perf_counter() - started) / audio


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    items = make_items(args, rng, args.batch_size)
    steps = {name: _training_step(args, name, items) for name in OBJECTIVES}
    seconds = {name: [] for name in OBJECTIVES}
    for _ in range(args.rounds):  # interleaved, so every objective sees the same machine load
        for name, step in steps.items():
            seconds[name].append(_median_seconds(step, args.steps))
    best = {name: min(values) for name, values in seconds.items()}
    decode_items = make_items(args, np.random.default_rng(args.seed + 1), args.decode_utterances)
    decoding = {f"beam{b}": decoding_real_time_factor(args, decode_items, b) for b in sorted({1, args.beam})}
    joint = f"beam{args.beam}_joint_ctc{args.ctc_weight:g}"
    decoding[joint] = decoding_real_time_factor(args, decode_items, args.beam, args.ctc_weight)
    return {
        "train_utterances_per_second": {name: args.batch_size / value for name, value in best.items()},
        "train_step_seconds": best,
        "overhead_vs_supervised": {name: best[name] / best["supervised"] for name in ("lst", "multitask")},
        "decode_real_time_factor": decoding,
        "joint_ctc_over_attention": decoding[joint] / decoding[f"beam{args.beam}"],
        "settings": {key: value for key, value in vars(args).items() if key in SETTINGS}
        | {"note": "synthetic batch; untrained model decoded to the transcripts' lengths"},
    }
