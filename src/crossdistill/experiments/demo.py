"""The main job of the README, on the built-in default.

Today it runs the part of the pipeline that exists end to end without data: the dropout-confidence simulation of
paper 000 (Fig. 2). It grows into the full synthetic-corpus demo as the data, teacher and student layers land.
"""

from __future__ import annotations

import json
from pathlib import Path

from crossdistill.experiments.confidence_simulation import SimulationGrid, run_simulation


def run_demo(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    outputs = run_simulation(out_dir / "confidence_simulation", SimulationGrid())
    summary = json.loads(outputs["summary"].read_text())
    print("Dropout confidence D (paper 000, Fig. 2), toy family 'peaked', N=100, p=0.1:")
    for c, d in summary["peaked"]["D_at_max_sharpness_by_C"].items():
        print(f"  C={c:>4}: D at the sharpest toy teacher = {d:.3f}")
    print("Mean D over sharpness by dropout rate p (C=31, N=100):")
    for p, d in summary["peaked"]["mean_D_by_p"].items():
        print(f"  p={p}: {d:.3f}")
    print(f"Plots and CSV: {outputs['csv'].parent}")
    return {name: str(path) for name, path in outputs.items()}
