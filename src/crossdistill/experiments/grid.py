"""``crossdistill grid``: paper 000's Table I, every cell for every seed, resumable.

All cells share one pre-trained acoustic module (and so one acoustic-output cache) and one teacher cache. A run
whose ``metrics.json`` exists is finished and skipped, so starting the command again after an interruption only
does what is left; an interrupted run resumes from its own last checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from tqdm.auto import tqdm

from crossdistill.common import atomic_write_text
from crossdistill.common.progress import show_progress
from crossdistill.train.config import TrainConfig, check_train_config, load_train_config
from crossdistill.train.run import METRICS_FILE

GRID_FILE = "grid.json"
GRID_KEYS = {"teacher_dir"}  # grid-level overrides that are not training-config keys


@dataclass(frozen=True)
class GridRun:
    cell: str
    seed: int
    config_path: Path
    out: Path

    @property
    def finished(self) -> bool:
        return (self.out / METRICS_FILE).is_file()


def plan_grid(grid_config: Path, seeds: list[int], out: Path, overrides: list[str]) -> tuple[list[GridRun], dict]:
    """Write one resolved training config per (cell, seed) under ``out`` and return the runs to do."""
    grid_config = Path(grid_config)
    if not grid_config.is_file():
        raise FileNotFoundError(f"grid config {grid_config} does not exist")
    grid = OmegaConf.load(grid_config)
    unknown = sorted(set(grid) - {"base", "cells", "teacher_dir", "primary"})
    if unknown:
        raise ValueError(f"{grid_config}: unknown grid keys {unknown} (known: base, cells, teacher_dir, primary)")
    if not grid.get("cells"):
        raise ValueError(f"{grid_config}: no cells")
    primary = check_primary(grid, grid_config)
    recorded_grid = _read_info(Path(out))  # {} before the first run
    recorded = recorded_grid.get("primary", []) if recorded_grid else primary
    if recorded != primary:  # declared before the first run: changing them on a resume would pick them after seeing
        raise ValueError(
            f"{Path(out) / GRID_FILE} declares the primary comparisons {recorded} and {grid_config} now declares "
            f"{primary}; they are fixed before the first run: use a new --out"
        )
    grid_overrides = [o for o in overrides if o.split("=", 1)[0] in GRID_KEYS]
    train_overrides = [o for o in overrides if o not in grid_overrides]
    teacher_dir = grid.get("teacher_dir")
    for item in grid_overrides:
        teacher_dir = item.split("=", 1)[1]
    base = grid.get("base") or OmegaConf.create({})
    planned = []  # every run's config, checked before any is written
    for cell, relative in grid.cells.items():
        cell_config = (grid_config.parent / relative).resolve()
        if not cell_config.is_file():
            raise FileNotFoundError(f"{grid_config}: cell {cell!r} names {cell_config}, which does not exist")
        for seed in seeds:
            run_out = Path(out) / cell / f"seed{seed}"
            # schema < cell file < grid base < command-line overrides < this run's out and seed
            try:
                merged = OmegaConf.merge(
                    OmegaConf.structured(TrainConfig),
                    OmegaConf.load(cell_config),
                    base,
                    OmegaConf.from_dotlist([*train_overrides, f"out={run_out}", f"seed={seed}"]),
                )
            except OmegaConfBaseException as error:
                raise ValueError(f"cell {cell!r} ({cell_config}): {error}".splitlines()[0]) from error
            check_train_config(merged, f" in cell {cell!r} ({cell_config})")
            path = run_out / "run_config.yaml"
            text = OmegaConf.to_yaml(merged)
            if path.is_file() and _planned_settings(path) != OmegaConf.to_container(merged, resolve=True):
                raise ValueError(f"{path} was planned with another configuration; use a new --out or remove {run_out}")
            planned.append((GridRun(cell, seed, path, run_out), text))
    for run, text in planned:
        if not run.config_path.is_file():
            atomic_write_text(run.config_path, text)
    runs = [run for run, _ in planned]
    info = {
        "grid_config": str(grid_config.resolve()),
        "cells": list(grid.cells),
        "seeds": seeds,
        "overrides": overrides,
        "teacher_dir": teacher_dir,
    }
    if primary:
        info["primary"] = primary  # declared with the grid, before any run: the report tests these first
    return runs, info


def _planned_settings(path: Path) -> dict:
    """A planned run's settings read through today's schema: a key added to ``TrainConfig`` since the run was planned
    takes its default, so the planned file still matches (it is not rewritten)."""
    try:
        return OmegaConf.to_container(
            OmegaConf.merge(OmegaConf.structured(TrainConfig), OmegaConf.load(path)), resolve=True
        )
    except OmegaConfBaseException:
        return {}


def check_primary(grid, grid_config: Path) -> list[list[str]]:
    """The grid's ``primary`` comparisons, ``[[cell, baseline], ...]``: each names two different cells of the grid."""
    primary = [list(pair) for pair in grid.get("primary") or []]
    for pair in primary:
        if len(pair) != 2 or pair[0] == pair[1] or not all(name in grid.cells for name in pair):
            raise ValueError(
                f"{grid_config}: primary comparison {pair} must name two different cells of {list(grid.cells)}"
            )
    return primary


def run_grid(grid_config: Path, seeds: list[int], out: Path, overrides: list[str], jobs: int = 1) -> dict:
    """Run every unfinished (cell, seed); ``jobs`` > 1 runs that many training processes at once."""
    out = Path(out)
    runs, info = plan_grid(grid_config, seeds, out, overrides)
    info["wall_seconds"] = _read_info(out).get("wall_seconds", 0.0)
    mark = time.time()

    def record() -> None:  # before any run (the primary comparisons), then after each: a kill keeps the time so far
        nonlocal mark
        now = time.time()
        info["wall_seconds"] += now - mark
        info["finished_runs"] = sum(run.finished for run in runs)
        atomic_write_text(out / GRID_FILE, json.dumps(info, indent=2) + "\n")
        mark = now

    record()
    todo = [run for run in runs if not run.finished]
    print(f"grid: {len(runs)} runs, {len(runs) - len(todo)} finished, {len(todo)} to do")
    if todo:
        _prepare_shared_caches(todo[0])
    if jobs <= 1:
        for run in tqdm(todo, desc="grid", unit="run", disable=not show_progress()):
            _train_in_process(run)
            record()
    else:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            finished = pool.map(lambda r: _train_subprocess(r, threads), todo)
            for _ in tqdm(finished, total=len(todo), desc="grid", disable=not show_progress()):
                record()
    record()
    return info


def _read_info(out: Path) -> dict:
    path = out / GRID_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _prepare_shared_caches(run: GridRun) -> None:
    """Build the shared acoustic-output cache once, before parallel runs could race to write it."""
    from crossdistill.data.corpus import load_corpus
    from crossdistill.train.run import build_run_student, prepare_encoded_outputs

    config = load_train_config(run.config_path)
    corpus = load_corpus(config.corpus)
    prepare_encoded_outputs(build_run_student(config, corpus), config, corpus)


def _train_in_process(run: GridRun) -> None:
    from crossdistill.train.run import train_intent

    train_intent(load_train_config(run.config_path))


def _train_subprocess(run: GridRun, threads: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    log = run.out / "train.log"
    with open(log, "a") as handle:  # a resumed run appends to its log
        code = subprocess.call(
            [sys.executable, "-m", "crossdistill.cli", "train", "--config", str(run.config_path)],
            stdout=handle, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    if code != 0:
        raise RuntimeError(f"run {run.cell}/seed{run.seed} failed (exit {code}); see {log}")
