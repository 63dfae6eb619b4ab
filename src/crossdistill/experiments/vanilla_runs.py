"""The vanilla student (Table I's first row, no distillation) over seeds on one setup: shared by the studies.

``crossdistill split-study`` and ``crossdistill engine-study`` both train it from the Table I grid config's base
settings and vanilla cell (one definition of both), through the grid runner, so every run resumes.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from omegaconf import OmegaConf

from crossdistill.common import atomic_write_text
from crossdistill.experiments.setup import Setup, SetupSettings

VANILLA_CELL = "vanilla"


def vanilla_grid_config(grid_config: Path, path: Path) -> Path:
    """Write at ``path`` a grid config of ``grid_config``'s base and vanilla cell only (one definition of both)."""
    grid_config = Path(grid_config).resolve()
    grid = OmegaConf.load(grid_config)
    cells = grid.get("cells") or {}
    if VANILLA_CELL not in cells:
        raise ValueError(f"{grid_config}: no {VANILLA_CELL!r} cell")
    derived = {
        "base": OmegaConf.to_container(grid.get("base") or {}),
        "cells": {VANILLA_CELL: str((grid_config.parent / cells[VANILLA_CELL]).resolve())},
    }
    atomic_write_text(path, OmegaConf.to_yaml(OmegaConf.create(derived)))
    return path


def run_vanilla_seeds(
    setup: Setup,
    settings: SetupSettings,
    out_dir: Path,
    seeds: tuple[int, ...],
    grid_config: Path,
    overrides: tuple[str, ...] = (),
) -> Path:
    """Train the vanilla student on ``setup`` for every seed under ``out_dir`` (finished runs are kept) and return
    the cell folder, whose ``seed<k>/`` each hold a run (``metrics.json``, ``model/``)."""
    from crossdistill.experiments.grid import run_grid

    grid = vanilla_grid_config(grid_config, out_dir / "grid.yaml")
    grid_overrides = [*setup.train_overrides(), f"threads={settings.threads}", *overrides]
    run_grid(grid, list(seeds), out_dir, grid_overrides, settings.jobs)
    return out_dir / VANILLA_CELL


def summarize_seeds(per_seed: dict[int, float]) -> dict[str, float | dict]:
    """Per-seed values with their mean and sample standard deviation (NaN for one seed)."""
    values = list(per_seed.values())
    return {
        "per_seed": per_seed,
        "mean": statistics.mean(values),
        "std": statistics.stdev(values) if len(values) > 1 else float("nan"),
    }


def vanilla_test_errors(cell_dir: Path, seeds: tuple[int, ...]) -> dict[str, float | dict]:
    """The test error (%) of each seed's run at the epoch chosen on valid, summarized over seeds."""
    runs = {seed: json.loads((cell_dir / f"seed{seed}" / "metrics.json").read_text()) for seed in seeds}
    return summarize_seeds({seed: 100 * metrics["test_error"] for seed, metrics in runs.items()})
