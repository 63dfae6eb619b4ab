"""Does training give the same bits on another CPU? The same small training run under each of PyTorch's CPU code
paths on this machine.

PyTorch picks its vectorized kernels by the CPU's instruction set (``ATEN_CPU_CAPABILITY``: default, avx2, avx512)
and MKL picks its own code path (``MKL_CBWR``, MKL's conditional numerical reproducibility mode). Different paths
round differently, and a training run amplifies the last-bit differences. Running one short intent-module training
(GRU, dropout, Adam, one thread) under each setting here shows which settings change the result, i.e. what a
machine with another CPU would change. Each setting runs in a fresh process (the variables are read at start-up).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

CAPABILITIES = ("", "default", "avx2", "avx512")  # "" = what PyTorch picks on this CPU
MKL_MODES = ("", "COMPATIBLE", "AVX2")  # "" = MKL's own choice


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=10, help="training steps per setting (default %(default)s)")


def run(args: argparse.Namespace) -> dict:
    results = []
    for capability in CAPABILITIES:
        for mode in MKL_MODES:
            env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
            env.update({"ATEN_CPU_CAPABILITY": capability} if capability else {})
            env.update({"MKL_CBWR": mode} if mode else {})
            command = [sys.executable, "-m", "crossdistill.experiments.benchmarks.numerics", str(args.steps)]
            completed = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
            record = json.loads(completed.stdout.strip().splitlines()[-1])
            results.append({"ATEN_CPU_CAPABILITY": capability or "(unset)", "MKL_CBWR": mode or "(unset)", **record})
    digests = sorted({r["weights_sha256"] for r in results})
    return {
        "what": "sha256 of the weights after the same seeded training run under each CPU code path",
        "steps": args.steps,
        "runs": results,
        "distinct_results": len(digests),
    }


def train_once(steps: int) -> dict:
    """One seeded training run of an intent module on random frames; the digest of its final weights."""
    import torch

    from crossdistill.students.intent import IntentConfig, IntentModule

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    module = IntentModule(40, IntentConfig(hidden=64, dropout=0.2, heads={"intent": 31}))
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    frames, lengths = torch.randn(32, 100, 40), torch.randint(50, 101, (32,))
    targets = torch.randint(0, 31, (32,))
    started = time.perf_counter()
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(module(frames, lengths)["intent"], targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    weights = b"".join(p.detach().numpy().tobytes() for p in module.parameters())
    return {
        "cpu_capability_used": torch.backends.cpu.get_cpu_capability(),
        "final_loss": float(loss),
        "weights_sha256": hashlib.sha256(weights).hexdigest()[:16],
        "seconds": round(time.perf_counter() - started, 2),
    }


if __name__ == "__main__":
    print(json.dumps(train_once(int(sys.argv[1]))))
