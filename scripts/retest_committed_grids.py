"""Re-test the committed Table I grids (docs/results/default-grid, small-grid) with today's report statistics.

Their run folders were not kept, so ``crossdistill report`` cannot run on them. What their committed report.md
printed is enough to recover, exactly, each cell's three per-seed differences from vanilla: test errors are
whole utterances (units of 100 / test size pp), the old bootstrap interval's ends are the smallest and largest
difference (each has a 1/27 chance per resample, far above the 2.5% tails), and the printed mean fixes the
third. The recovery must be unique and must reproduce every printed number (mean difference, bootstrap
interval, sign-test p, wins/losses up to float ties), or the script stops. The per-seed *pairing* with vanilla's
seeds is not recovered, and need not be: the paired tests use only the differences.

It then rewrites each report.md: Table I, plots and provenance as committed, the seed-noise table from
``crossdistill.experiments.report``, and the utterance-level test marked unavailable (no per-utterance
predictions were kept). Run: .venv/bin/python scripts/retest_committed_grids.py
"""

from __future__ import annotations

import random
import statistics
import subprocess
from pathlib import Path

from crossdistill.common import atomic_write_text
from crossdistill.experiments.report import (
    Comparison,
    SeedRow,
    render_seed_table,
    render_utterance_table,
    seed_notes,
    utterance_notes,
)
from crossdistill.experiments.significance import holm, seed_test

ROOT = Path(__file__).resolve().parents[1]
# folder -> (commit whose report.md is re-tested, test utterances)
GRIDS = {"docs/results/default-grid": ("c9ddae5", 600), "docs/results/small-grid": ("11e97d5", 120)}
OLD_TABLE = "## Each cell against vanilla (paired over seeds)"


def old_bootstrap(differences, samples=10000, level=0.95, seed=0):
    """The removed report's percentile bootstrap, verbatim, to check a recovery against what it printed."""
    rng = random.Random(seed)
    means = sorted(statistics.mean(rng.choices(differences, k=len(differences))) for _ in range(samples))
    return means[int((1 - level) / 2 * samples)], means[min(samples - 1, int((1 + level) / 2 * samples))]


def parse_rows(report: str) -> list[dict]:
    table = report.split(OLD_TABLE, 1)[1].split("\n\n", 2)[1]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip()[1:-1].split("|")]
        row = {"name": cells[0], "seeds": int(cells[1]), "chosen": cells[2], "last": cells[3]}
        if cells[4]:
            low, high = (float(x) for x in cells[7].strip("[]").split(","))
            wins, losses = (int(x) for x in cells[5].split("/"))
            row.update(delta=float(cells[4]), wins=wins, losses=losses, sign_p=float(cells[6]), low=low, high=high)
        rows.append(row)
    return rows


def recover_differences(row: dict, unit: float) -> tuple[float, ...]:
    """The unique multiset of per-seed differences (pp) consistent with everything the row printed."""
    assert row["seeds"] == 3, row
    low, high = round(row["low"] / unit), round(row["high"] / unit)
    candidates = []
    for middle in range(low, high + 1):
        units = (low, middle, high)
        diffs = tuple(k * unit for k in units)
        if round(statistics.mean(diffs), 2) != row["delta"]:
            continue
        # The old report counted float noise around a true tie as a win or a loss, never the other way.
        if not (sum(k < 0 for k in units) <= row["wins"] and sum(k > 0 for k in units) <= row["losses"]):
            continue
        if tuple(round(x, 2) for x in old_bootstrap(list(diffs))) != (row["low"], row["high"]):
            continue
        candidates.append(diffs)
    if len(candidates) != 1:
        raise SystemExit(f"{row['name']}: {len(candidates)} recoveries fit the printed numbers, need exactly 1")
    return candidates[0]


def retest(folder: Path, commit: str, test_size: int) -> str:
    old = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{folder}/report.md"], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    rows = parse_rows(old)
    unit = 100 / test_size
    tests = {r["name"]: seed_test(recover_differences(r, unit)) for r in rows if "delta" in r}
    adjusted = holm({name: t.t_p for name, t in tests.items() if t.t_p is not None})
    comparisons = {name: Comparison(t, None, adjusted.get(name)) for name, t in tests.items()}
    seed_rows = [SeedRow(r["name"], r["seeds"], r["chosen"], r["last"], comparisons.get(r["name"])) for r in rows]
    table_one, rest = old.split(OLD_TABLE, 1)
    plots_and_provenance = rest[rest.index("## Plots") :]
    note = (
        f"> Re-tested from the report.md of commit {commit} by `scripts/retest_committed_grids.py`: the run folders "
        "were not kept, so Table I, the plots and the provenance are as committed, and the seed-noise table below "
        "uses the per-seed differences recovered exactly from that report's printed numbers. Its earlier "
        '"beyond seed noise" column (a bootstrap over 3 seeds) is withdrawn.\n'
    )
    head, body = table_one.split("\n", 1)
    parts = [head, "", note, body.strip(), "", "## Each cell against vanilla, over seeds (seed noise)\n",
             render_seed_table(seed_rows), "", seed_notes(), "",
             "## Each cell against vanilla, over test utterances (test-set sampling)\n",
             render_utterance_table(comparisons), "", utterance_notes(), "", plots_and_provenance]  # fmt: skip
    return "\n".join(parts)


def main() -> None:
    for folder, (commit, test_size) in GRIDS.items():
        path = ROOT / folder / "report.md"
        atomic_write_text(path, retest(Path(folder), commit, test_size))
        print(path)


if __name__ == "__main__":
    main()
