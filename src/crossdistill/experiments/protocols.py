"""Which epoch's test error a run reports: three selection protocols, side by side.

- ``chosen``: the epoch with the lowest validation error (our protocol: the test set plays no part in the choice);
- ``last``: the last epoch (no choice at all);
- ``best``: the lowest test error over all epochs, paper 000's protocol ("the best test error over all steps"; we
  evaluate once per epoch, so ours is the per-epoch version). It chooses the epoch *on the test set*, so it is
  optimistic by construction: the minimum of T noisy numbers lies below their typical value even when nothing
  differs, and the more so the noisier the epochs and the larger T.

Every run keeps each epoch's test error in ``metrics.json``'s ``history`` (``test/error``), so all three come from
the same runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from crossdistill.train.run import choose_epoch

PROTOCOLS = {
    "chosen": "chosen on validation (our protocol)",
    "last": "last epoch",
    "best": "best over all epochs (the paper's protocol, optimistic by construction)",
}


def best_errors(histories: Mapping[int, list[dict[str, Any]]]) -> dict[int, float]:
    """seed -> the lowest test error (%) over the run's epochs."""
    return {seed: 100 * min(r["test/error"] for r in history if "test/error" in r)
            for seed, history in histories.items() if any("test/error" in r for r in history)}  # fmt: skip


def protocol_errors(cell) -> dict[str, dict[int, float]]:
    """protocol -> seed -> test error (%) of a report's ``CellResult``."""
    return {"chosen": dict(cell.test_errors), "last": dict(cell.last_errors), "best": best_errors(cell.histories)}


def chosen_epochs(cell) -> list[int]:
    """The epoch that validation chose in each seed's run."""
    return sorted(choose_epoch(history)["epoch"] for history in cell.histories.values())


def _summary(values: Mapping[int, float]) -> str:
    if not values:
        return "n/a"
    spread = statistics.stdev(values.values()) if len(values) > 1 else 0.0
    return f"{statistics.mean(values.values()):.2f} ± {spread:.2f}"


def render_protocol_table(results: Mapping[str, Any]) -> str:
    """Markdown: each cell's test error (mean ± std over seeds) under the three protocols, and the chosen epochs."""
    lines = ["| cell | seeds | " + " | ".join(f"test error (%), {label}" for label in PROTOCOLS.values())
             + " | epochs chosen on valid |",
             "|---|---|" + "---|" * len(PROTOCOLS) + "---|"]  # fmt: skip
    for name, cell in results.items():
        errors = protocol_errors(cell)
        epochs = chosen_epochs(cell)
        chosen = f"{epochs[len(epochs) // 2]} (median; {epochs[0]}-{epochs[-1]})" if epochs else "n/a"
        row = " | ".join(_summary(errors[p]) for p in PROTOCOLS)
        lines.append(f"| {name} | {len(cell.test_errors)} | {row} | {chosen} |")
    return "\n".join(lines)


def protocol_notes() -> str:
    return (
        "Mean ± standard deviation over seeds. Our protocol picks each run's epoch on validation and reports the test "
        "error of that epoch. The last-epoch column needs no choice. The paper's protocol reports the best test error "
        "over training (over all steps; here over epochs, each evaluated once): it chooses on the test set itself, so "
        "it is optimistic by construction, lower than what a new test set would show, and it rewards noisy "
        "trajectories; a difference that appears only in that column is not evidence for a policy."
    )
