"""Paper 000, Fig. 2: how the dropout confidence D depends on the number of classes C, masks N and rate p.

Toy teacher distributions of increasing sharpness are perturbed by N dropout masks of rate p and D is computed
beside the normalized entropy H_C, for each reading of D (dropout site, ``crossdistill.kd.confidence``) that
needs only the teacher's output. Two toy families:

- ``peaked``: one class has logit ``s`` (the sharpness), the other C - 1 have 0; s = 0 is uniform.
- ``gaussian``: logits ``s * g`` with g a fixed standard-normal vector per C (seeded), a less idealized teacher.

The shift check adds ``SHIFT`` to every toy logit: T does not change, so a reading of D that is a function of T
does not change either.
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
from crossdistill.kd import (
    DEFAULT_DROPOUT_SITE,
    DEFAULT_N_MASKS,
    DEFAULT_P,
    DROPOUT_SITES,
    dropout_confidence,
    normalized_entropy_from_logits,
    recip,
)

COLUMNS = ("site", "family", "C", "N", "p", "sharpness", "entropy_normalized", "dropout_confidence")
OUTPUT_SITES = tuple(site for site in DROPOUT_SITES if site != "features")  # toys have logits, no hidden layer
SHIFT = 5.0  # added to every logit by the shift check
REFERENCE = (31, DEFAULT_N_MASKS, DEFAULT_P)  # C (FSC's 31 intents), N, p at which single factors vary


@dataclass(frozen=True)
class SimulationGrid:
    """The factors of Fig. 2; the defaults are the paper's values."""

    classes: tuple[int, ...] = (5, 31, 100, 1000)
    n_masks: tuple[int, ...] = (10, 100)
    rates: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3)
    sharpness: tuple[float, ...] = tuple(round(0.25 * i, 2) for i in range(41))  # 0 .. 10
    families: tuple[str, ...] = ("peaked", "gaussian")
    sites: tuple[str, ...] = OUTPUT_SITES
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
    """One row per (site, family, C, N, p, sharpness) with the normalized entropy and D."""
    sharpness = torch.tensor(grid.sharpness)
    rows = []
    for family, n_classes in itertools.product(grid.families, grid.classes):
        logits = make_toy_logits(family, n_classes, sharpness, grid.seed)
        entropy = normalized_entropy_from_logits(logits)
        for site, n_masks, p in itertools.product(grid.sites, grid.n_masks, grid.rates):
            generator = torch.Generator().manual_seed(grid.seed)
            confidence = dropout_confidence(logits, n_masks=n_masks, p=p, generator=generator, site=site)
            for s, h, d in zip(grid.sharpness, entropy.tolist(), confidence.tolist(), strict=True):
                rows.append(
                    {"site": site, "family": family, "C": n_classes, "N": n_masks, "p": p, "sharpness": s,
                     "entropy_normalized": h, "dropout_confidence": d}
                )  # fmt: skip
    return rows


def shift_check(grid: SimulationGrid = SimulationGrid(), reference=REFERENCE) -> dict:
    """Per site and family, at the reference (C, N, p): how far D moves when ``SHIFT`` is added to every logit
    (same masks), as the mean and largest absolute change over the sharpness range."""
    ref_c, ref_n, ref_p = reference
    sharpness = torch.tensor(grid.sharpness)
    result = {}
    for site in grid.sites:
        result[site] = {}
        for family in grid.families:
            logits = make_toy_logits(family, ref_c, sharpness, grid.seed)
            d, shifted = (
                dropout_confidence(z, ref_n, ref_p, torch.Generator().manual_seed(grid.seed), site=site)
                for z in (logits, logits + SHIFT)
            )
            change = (shifted - d).abs()
            result[site][family] = {"mean_abs_change": change.mean().item(), "max_abs_change": change.max().item()}
    return result


def write_csv(rows: list[dict], path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def plot_simulation(rows: list[dict], path: Path, family: str = "peaked", reference=REFERENCE) -> None:
    """Four panels for the default site: D against sharpness varying C, N and p (others at the reference), and
    H_C varying C."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref_c, ref_n, ref_p = reference
    rows = [r for r in rows if r["family"] == family and r["site"] == DEFAULT_DROPOUT_SITE]
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
    fig.suptitle(
        f"Dropout confidence simulation (paper 000, Fig. 2), site '{DEFAULT_DROPOUT_SITE}', toy family '{family}'"
    )
    _save(fig, path)


def plot_sites(rows: list[dict], path: Path, family: str = "peaked", reference=REFERENCE) -> None:
    """One panel per site, side by side: D against sharpness for each C at the reference N and p."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, ref_n, ref_p = reference
    rows = [r for r in rows if r["family"] == family and r["N"] == ref_n and r["p"] == ref_p]
    sites = list(dict.fromkeys(r["site"] for r in rows))
    fig, axes = plt.subplots(1, len(sites), figsize=(4.5 * len(sites), 4.2), constrained_layout=True, squeeze=False)
    for ax, site in zip(axes[0], sites, strict=True):
        for n_classes in sorted({r["C"] for r in rows}):
            series = [r for r in rows if r["site"] == site and r["C"] == n_classes]
            ax.plot([r["sharpness"] for r in series], [r["dropout_confidence"] for r in series], label=f"C={n_classes}")
        ax.set_title(f"site '{site}'" + (" (default)" if site == DEFAULT_DROPOUT_SITE else ""))
        ax.set_xlabel("sharpness of the toy teacher")
        ax.set_ylabel("dropout confidence D")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(f"D under each reading, N={ref_n}, p={ref_p}, toy family '{family}'")
    _save(fig, path)


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def summarize_simulation(rows: list[dict], reference=REFERENCE) -> dict:
    """The numbers the docs quote, per site and family: D at the sharpest point for each C, the roughness of D's
    curve (mean absolute step between neighbouring sharpness values) for each N, and the mean D over the
    sharpness range for each p."""
    ref_c, ref_n, ref_p = reference
    summary = {}
    for site, family in itertools.product(dict.fromkeys(r["site"] for r in rows), sorted({r["family"] for r in rows})):
        fam = [r for r in rows if r["family"] == family and r["site"] == site]
        top = max(r["sharpness"] for r in fam)

        def curve(c, n, p, fam=fam):
            return [r["dropout_confidence"] for r in fam if r["C"] == c and r["N"] == n and r["p"] == p]

        at_top = [r for r in fam if r["sharpness"] == top and r["N"] == ref_n and r["p"] == ref_p]
        summary.setdefault(site, {})[family] = {
            "D_at_max_sharpness_by_C": {str(r["C"]): r["dropout_confidence"] for r in at_top},
            "entropy_at_max_sharpness_by_C": {str(r["C"]): r["entropy_normalized"] for r in at_top},
            "roughness_by_N": {
                str(n): statistics.mean(abs(a - b) for a, b in itertools.pairwise(curve(ref_c, n, ref_p)))
                for n in sorted({r["N"] for r in fam})
            },
            "mean_D_by_p": {str(p): statistics.mean(curve(ref_c, ref_n, p)) for p in sorted({r["p"] for r in fam})},
        }
    return summary


def cache_readings(teacher_cache: Path, head: str = "intent", sites=DROPOUT_SITES) -> dict:
    """D under each output site for a real teacher cache's logits, one value per unique transcript with the
    cache's own N, p and per-transcript masks, and again with ``SHIFT`` added to every logit.

    Returns per site the mean D, the mean recip(D) (the 7c weight) and both after the shift; for the cache's own
    site also the mean of the stored D, which the recomputed mean must equal.
    """
    from crossdistill.teachers.text.cache import TeacherCache
    from crossdistill.teachers.text.inference import mask_generator

    cache = TeacherCache.load(teacher_cache)
    options = cache.options
    logits = cache.tensors[f"logits/{head}"].double()
    texts = cache.index["transcripts"]
    result = {"cache": str(teacher_cache), "transcripts": len(texts), "n_masks": options.n_masks, "p": options.p,
              "cache_site": options.dropout_site,
              "cache_mean_D": cache.tensors[f"confidence/{head}"].double().mean().item(), "sites": {}}  # fmt: skip
    for site in (s for s in sites if s != "features"):
        values = {}
        for label, shift in (("", 0.0), ("_shifted", SHIFT)):
            d = torch.cat([
                dropout_confidence(logits[i : i + 1] + shift, options.n_masks, options.p,
                                   mask_generator(options.seed, head, text), site=site)
                for i, text in enumerate(texts)
            ])  # fmt: skip
            values[f"mean_D{label}"] = d.mean().item()
            values[f"mean_recip_D{label}"] = recip(d).mean().item()
        result["sites"][site] = values
    return result


def run_simulation(out_dir: Path, grid: SimulationGrid = SimulationGrid(), teacher_cache: Path | None = None):
    """Write the CSV, the summary, one PNG per toy family for the default site and one PNG of the sites side by
    side to ``out_dir`` (plus the readings of ``teacher_cache``'s logits when given); return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = simulate_confidence(grid)
    outputs = {"csv": out_dir / "confidence_simulation.csv"}
    write_csv(rows, outputs["csv"])
    summary = {"sites": summarize_simulation(rows), f"shift_by_{SHIFT:g}": shift_check(grid)}
    if teacher_cache is not None:
        summary["teacher_cache"] = cache_readings(Path(teacher_cache))
    outputs["summary"] = out_dir / "confidence_simulation_summary.json"
    atomic_write_text(outputs["summary"], json.dumps(summary, indent=2) + "\n")
    if DEFAULT_DROPOUT_SITE in grid.sites:
        for family in grid.families:
            name = "confidence_simulation.png" if family == grid.families[0] else f"confidence_simulation_{family}.png"
            outputs[family] = out_dir / name
            plot_simulation(rows, outputs[family], family)
    outputs["sites"] = out_dir / "confidence_sites.png"
    plot_sites(rows, outputs["sites"], grid.families[0])
    return outputs
