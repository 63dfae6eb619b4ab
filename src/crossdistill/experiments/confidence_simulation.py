"""Paper 000, Fig. 2: how the dropout confidence D depends on the number of classes C, masks N and rate p.

Toy teacher distributions of increasing sharpness are perturbed by N dropout masks of rate p and D is computed
beside the normalized entropy H_C. Two toy families:

- ``peaked``: one class has logit ``s`` (the sharpness), the other C - 1 have 0; s = 0 is uniform.
- ``gaussian``: logits ``s * g`` with g a fixed standard-normal vector per C (seeded), a less idealized teacher.
"""

from __future__ import annotations

import csv
import itertools
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

import torch

from crossdistill.common import atomic_path, atomic_write_text
from crossdistill.kd import dropout_confidence, normalized_entropy_from_logits

COLUMNS = ("family", "C", "N", "p", "sharpness", "entropy_normalized", "dropout_confidence")


@dataclass(frozen=True)
class SimulationGrid:
    """The factors of Fig. 2; the defaults are the paper's values."""

    classes: tuple[int, ...] = (5, 31, 100, 1000)
    n_masks: tuple[int, ...] = (10, 100)
    rates: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3)
    sharpness: tuple[float, ...] = tuple(round(0.25 * i, 2) for i in range(41))  # 0 .. 10
    families: tuple[str, ...] = ("peaked", "gaussian")
    seed: int = 0


def make_toy_logits(family: str, n_classes: int, sharpness: torch.Tensor, seed: int) -> torch.Tensor:
    """Logits (S, C) of the toy teacher at each sharpness value."""
    if family == "peaked":
        base = torch.zeros(n_classes, dtype=torch.float64)
        base[0] = 1.0
    elif family == "gaussian":
        base = torch.randn(n_classes, generator=torch.Generator().manual_seed(seed + n_classes), dtype=torch.float64)
    else:
        raise ValueError(f"unknown toy family {family!r}; known: peaked, gaussian")
    return sharpness.to(torch.float64).unsqueeze(1) * base.unsqueeze(0)


def simulate_confidence(grid: SimulationGrid = SimulationGrid()) -> list[dict]:
    """One row per (family, C, N, p, sharpness) with the normalized entropy and D."""
    sharpness = torch.tensor(grid.sharpness)
    rows = []
    for family, n_classes in itertools.product(grid.families, grid.classes):
        logits = make_toy_logits(family, n_classes, sharpness, grid.seed)
        entropy = normalized_entropy_from_logits(logits)
        for n_masks, p in itertools.product(grid.n_masks, grid.rates):
            generator = torch.Generator().manual_seed(grid.seed)
            confidence = dropout_confidence(logits, n_masks=n_masks, p=p, generator=generator)
            for s, h, d in zip(grid.sharpness, entropy.tolist(), confidence.tolist(), strict=True):
                rows.append(
                    {"family": family, "C": n_classes, "N": n_masks, "p": p, "sharpness": s,
                     "entropy_normalized": h, "dropout_confidence": d}
                )  # fmt: skip
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def plot_simulation(rows: list[dict], path: Path, family: str = "peaked", reference=(31, 100, 0.1)) -> None:
    """Four panels: D against sharpness varying C, N and p (others at the reference), and H_C varying C."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref_c, ref_n, ref_p = reference
    rows = [r for r in rows if r["family"] == family]
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2), constrained_layout=True)
    panels = [
        ("C", sorted({r["C"] for r in rows}), lambda r: r["N"] == ref_n and r["p"] == ref_p, f"N={ref_n}, p={ref_p}"),
        ("N", sorted({r["N"] for r in rows}), lambda r: r["C"] == ref_c and r["p"] == ref_p, f"C={ref_c}, p={ref_p}"),
        ("p", sorted({r["p"] for r in rows}), lambda r: r["C"] == ref_c and r["N"] == ref_n, f"C={ref_c}, N={ref_n}"),
    ]
    for ax, (factor, values, keep, fixed) in zip(axes, panels, strict=False):
        for value in values:
            series = [r for r in rows if keep(r) and r[factor] == value]
            ax.plot(
                [r["sharpness"] for r in series], [r["dropout_confidence"] for r in series], label=f"{factor}={value}"
            )
        ax.set_title(f"D against sharpness, varying {factor} ({fixed})")
        ax.set_xlabel("sharpness of the toy teacher (higher = lower entropy)")
        ax.set_ylabel("dropout confidence D")
        ax.legend()
        ax.grid(alpha=0.3)
    ax = axes[3]
    for n_classes in sorted({r["C"] for r in rows}):
        series = [r for r in rows if r["C"] == n_classes and r["N"] == ref_n and r["p"] == ref_p]
        ax.plot([r["sharpness"] for r in series], [r["entropy_normalized"] for r in series], label=f"C={n_classes}")
    ax.set_title("normalized entropy H_C against sharpness")
    ax.set_xlabel("sharpness of the toy teacher")
    ax.set_ylabel("H / log C")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.suptitle(f"Dropout confidence simulation (paper 000, Fig. 2), toy family '{family}'")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def summarize_simulation(rows: list[dict], reference=(31, 100, 0.1)) -> dict:
    """The numbers the docs quote: D at the sharpest point for each C, the roughness of D's curve (mean absolute
    step between neighbouring sharpness values) for each N, and the mean D over the sharpness range for each p."""
    ref_c, ref_n, ref_p = reference
    summary = {}
    for family in sorted({r["family"] for r in rows}):
        fam = [r for r in rows if r["family"] == family]
        top = max(r["sharpness"] for r in fam)

        def curve(c, n, p, fam=fam):
            return [r["dropout_confidence"] for r in fam if r["C"] == c and r["N"] == n and r["p"] == p]

        roughness = {}
        for n in sorted({r["N"] for r in fam}):
            values = curve(ref_c, n, ref_p)
            roughness[str(n)] = statistics.mean(abs(a - b) for a, b in itertools.pairwise(values))
        summary[family] = {
            "D_at_max_sharpness_by_C": {
                str(r["C"]): r["dropout_confidence"]
                for r in fam
                if r["sharpness"] == top and r["N"] == ref_n and r["p"] == ref_p
            },
            "entropy_at_max_sharpness_by_C": {
                str(r["C"]): r["entropy_normalized"]
                for r in fam
                if r["sharpness"] == top and r["N"] == ref_n and r["p"] == ref_p
            },
            "roughness_by_N": roughness,
            "mean_D_by_p": {str(p): statistics.mean(curve(ref_c, ref_n, p)) for p in sorted({r["p"] for r in fam})},
        }
    return summary


def run_simulation(out_dir: Path, grid: SimulationGrid = SimulationGrid()) -> dict[str, Path]:
    """Write the CSV and one PNG per toy family to ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = simulate_confidence(grid)
    outputs = {"csv": out_dir / "confidence_simulation.csv"}
    write_csv(rows, outputs["csv"])
    outputs["summary"] = out_dir / "confidence_simulation_summary.json"
    atomic_write_text(outputs["summary"], json.dumps(summarize_simulation(rows), indent=2) + "\n")
    for family in grid.families:
        name = "confidence_simulation.png" if family == grid.families[0] else f"confidence_simulation_{family}.png"
        outputs[family] = out_dir / name
        plot_simulation(rows, outputs[family], family)
    return outputs
