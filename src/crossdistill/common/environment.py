"""What a result's last bits depend on besides the code, the data and the seed (see docs/training.md,
"Reproducibility"): the PyTorch build, the CPU code paths it takes, the thread count.

Training on two machines with different CPUs takes different vectorized code paths (PyTorch's AVX2 or AVX-512
kernels, MKL's own choice) that round differently; a run amplifies that, so the same command can end a few utterances
apart. Results record this so that two of them can be compared knowingly.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def numeric_environment() -> dict[str, object]:
    """The PyTorch version, the CPU capability its kernels use, the CPU model, torch threads and the environment
    variables that pin code paths (``ATEN_CPU_CAPABILITY``, ``MKL_CBWR``)."""
    import torch

    return {
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu": _cpu_model(),
        "torch_threads": torch.get_num_threads(),
        "ATEN_CPU_CAPABILITY": os.environ.get("ATEN_CPU_CAPABILITY"),
        "MKL_CBWR": os.environ.get("MKL_CBWR"),
    }


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
