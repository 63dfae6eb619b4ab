"""The calibrated default benchmark in one call: the shared setup, paper 000's Table I grid over seeds, its report.

``crossdistill benchmark --out DIR`` is what produced ``docs/results/default-grid``; every stage resumes, so a killed
benchmark continues where it stopped when the command is given again.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from crossdistill.common import atomic_write_text
from crossdistill.experiments.setup import SetupSettings, prepare_setup, step

GRID_CONFIG = Path(__file__).resolve().parents[3] / "configs" / "grid" / "table1.yaml"


def run_benchmark(
    out_dir: Path,
    settings: SetupSettings | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    grid_config: Path = GRID_CONFIG,
    overrides: tuple[str, ...] = (),
) -> dict:
    """Prepare the setup under ``out``, run the grid into ``out/grid`` and write ``out/grid/report.md``."""
    from crossdistill.experiments.grid import run_grid
    from crossdistill.experiments.report import write_report

    settings = settings or SetupSettings()
    out = Path(out_dir).absolute()
    setup = prepare_setup(out, settings)
    t = step(f"Table I grid: {len(seeds)} seeds, {settings.jobs} training processes at once")
    grid_overrides = [*setup.train_overrides(), f"teacher_dir={setup.teacher}", f"threads={settings.threads}",
                      *overrides]  # fmt: skip
    grid = run_grid(grid_config, list(seeds), out / "grid", grid_overrides, settings.jobs)
    report = write_report(out / "grid")
    summary = {
        "settings": asdict(settings),
        "seeds": list(seeds),
        "grid_config": str(grid_config),
        "overrides": grid_overrides,
        "setup_timings_s": setup.timings_s,
        "grid_wall_seconds": grid["wall_seconds"],
        "this_call_grid_seconds": time.time() - t,
        "teacher_text_error": setup.teacher_text_error(),
        "acoustic_test": setup.pretrain_metrics.get("test", {}),
        "report": str(report),
    }
    atomic_write_text(out / "benchmark.json", json.dumps(summary, indent=2) + "\n")
    print(f"\nreport: {report}")
    return summary
