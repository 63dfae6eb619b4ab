"""``crossdistill bench train``: training-step throughput, vanilla against dropout-confidence KD, in one run.

Two settings, both timed on the same random batches in this process:

- ``intent``: the intent module on cached acoustic outputs (what every Table I run trains);
- ``full``: the whole student from the raw waveform, SincNet front end and acoustic module unfrozen.

KD reads its teacher tensors from memory, as a run does from the teacher cache, so ``kd_overhead`` is the cost of
the distillation term itself: L1 on the logits, the weight decision and the (1a) combination.
"""

from __future__ import annotations

import argparse
import time

import torch

from crossdistill.kd import StepContext, build_objective, supervised_cross_entropy
from crossdistill.students.slu import SLUStudent, preset_config

KD_OVERHEAD_TARGET = 1.10
KD_OBJECTIVE = {
    "terms": [
        {"teacher_output": "logits/intent", "student_head": "intent", "distance": "l1",
         "policy": {"schedule": "triangular", "decision": "dropout"}}
    ]
}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="default", help="student preset (default: default)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=2.5, help="utterance length in seconds")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per setting (intent module)")
    parser.add_argument("--full-steps", type=int, default=3, help="timed steps per setting (full student)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one core)")
    parser.add_argument("--seed", type=int, default=0)


def _time_steps(step, steps: int) -> float:
    """Median seconds per step after one warm-up step; vanilla and KD steps are interleaved by the caller."""
    step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def _make_step(student, batch, objective, optimizer, teacher, encoded: bool):
    def step():
        optimizer.zero_grad(set_to_none=True)
        outputs = student.classify(batch["encoded"], batch["encoded_lengths"]) if encoded else student(batch)
        supervised = supervised_cross_entropy(outputs["intent"], batch["intent"])
        correct = outputs["intent"].argmax(-1) == batch["intent"]
        parts = objective.compute_loss(supervised, outputs, teacher, StepContext(5, 10, student_correct=correct))
        parts.total.backward()
        optimizer.step()

    return step


def _measure(student, batch, teacher, steps: int, encoded: bool) -> dict:
    vanilla = build_objective({"terms": []})
    kd = build_objective(KD_OBJECTIVE)
    params = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=1e-4)
    vanilla_step = _make_step(student, batch, vanilla, optimizer, teacher, encoded)
    kd_step = _make_step(student, batch, kd, optimizer, teacher, encoded)
    # Interleave rounds so both settings see the same machine load.
    vanilla_times, kd_times = [], []
    for _ in range(3):
        vanilla_times.append(_time_steps(vanilla_step, steps))
        kd_times.append(_time_steps(kd_step, steps))
    vanilla_s, kd_s = min(vanilla_times), min(kd_times)
    size = batch["intent"].shape[0]
    return {
        "vanilla_utt_per_s": size / vanilla_s,
        "kd_utt_per_s": size / kd_s,
        "vanilla_step_s": vanilla_s,
        "kd_step_s": kd_s,
        "kd_overhead": kd_s / vanilla_s,
    }


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed)
    n_intents = 31
    config = preset_config(args.preset, heads={"intent": n_intents})
    student = SLUStudent(config)
    b = args.batch_size
    samples = int(args.seconds * 16000)
    teacher = {
        "logits/intent": torch.randn(b, n_intents, generator=generator),
        "confidence/intent": torch.rand(b, generator=generator),
    }
    intent = torch.randint(0, n_intents, (b,), generator=generator)
    waveform = torch.randn(b, samples, generator=generator) * 0.1
    lengths = torch.full((b,), samples)

    student.unfreeze_acoustic("all")
    student.train()
    full_batch = {"waveform": waveform, "lengths": lengths, "intent": intent}
    full = _measure(student, full_batch, teacher, args.full_steps, encoded=False)

    student.freeze_acoustic()
    student.train()
    with torch.no_grad():
        encoded, encoded_lengths = student.encode(waveform, lengths)
    intent_batch = {"encoded": encoded, "encoded_lengths": encoded_lengths, "intent": intent}
    intent_only = _measure(student, intent_batch, teacher, args.steps, encoded=True)
    return {
        "preset": args.preset,
        "batch_size": b,
        "utterance_seconds": args.seconds,
        "threads": args.threads,
        "intent_module": intent_only,
        "full_student": full,
        "kd_overhead": intent_only["kd_overhead"],
        "full_kd_overhead": full["kd_overhead"],
        "target": {"kd_overhead_max": KD_OVERHEAD_TARGET},
        "meets_target": intent_only["kd_overhead"] <= KD_OVERHEAD_TARGET,
        "kd_policy": "l1 on intent logits, triangular x dropout confidence, (1a)",
    }
