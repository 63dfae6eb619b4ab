"""Speaker-clustered bootstrap intervals of test error: how much the number would move with other test speakers.

Utterances of one speaker are not independent (a hard voice makes many errors at once), so an interval that
resamples utterances, or the McNemar test that pairs them, is too narrow when errors cluster by speaker. Here the
test *speakers* are resampled with replacement (each draw takes all of a speaker's test utterances), the trained
runs held fixed, and the 95 % percentile interval of the statistic is reported:

- :func:`bootstrap_error`: a cell's test error, the mean over its seeds of each seed's error on the resampled
  utterances;
- :func:`bootstrap_difference`: a cell's error minus a baseline's on their shared seeds, both scored on the same
  resample (paired).

It speaks to test-speaker sampling only; the seed spread (and the tests over seeds) speak to training randomness.
Inputs are per-utterance correctness ``{seed: {utt_id: correct}}`` of the selected models (``test_correctness.csv``)
and each test utterance's speaker. Deterministic given ``seed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95

Correctness = Mapping[int, Mapping[str, bool]]


@dataclass(frozen=True)
class Interval:
    """An estimate (pp) with its speaker-bootstrap percentile interval."""

    estimate: float
    low: float
    high: float
    speakers: int
    utterances: int
    seeds: int
    resamples: int

    def describe(self) -> str:
        return f"{self.estimate:.2f} [{self.low:.2f}, {self.high:.2f}]"

    def to_dict(self) -> dict:
        return {"estimate_pp": self.estimate, "low_pp": self.low, "high_pp": self.high, "speakers": self.speakers,
                "utterances": self.utterances, "seeds": self.seeds, "resamples": self.resamples}  # fmt: skip


def _errors_per_speaker(
    runs: list[Mapping[str, bool]], utterances: list[str], speaker_of: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """(errors (runs, speakers), utterances per speaker (speakers,), number of speakers)."""
    speakers = sorted({speaker_of[u] for u in utterances})
    column = {speaker: k for k, speaker in enumerate(speakers)}
    columns = np.array([column[speaker_of[u]] for u in utterances])
    counts = np.bincount(columns, minlength=len(speakers)).astype(np.float64)
    errors = np.stack([np.bincount(columns, weights=[not run[u] for u in utterances], minlength=len(speakers))
                       for run in runs])  # fmt: skip
    return errors, counts, len(speakers)


def _interval(statistic, errors: np.ndarray, counts: np.ndarray, resamples: int, seed: int, level: float):
    """``statistic(weighted errors (B, runs), weighted counts (B,))`` over speaker resamples, and its value on the
    observed speakers; returns (estimate, low, high) in pp."""
    n_speakers = len(counts)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_speakers, np.full(n_speakers, 1 / n_speakers), size=resamples).astype(np.float64)
    samples = statistic(weights @ errors.T, weights @ counts)
    estimate = statistic(errors.sum(axis=1)[None, :], np.array([counts.sum()]))[0]
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return 100 * float(estimate), 100 * float(low), 100 * float(high)


def _shared(runs: Correctness, seeds: list[int], speaker_of: Mapping[str, str]) -> list[str]:
    shared = set(speaker_of)
    for seed in seeds:
        shared &= set(runs[seed])
    return sorted(shared)


def bootstrap_error(
    cell: Correctness, speaker_of: Mapping[str, str], resamples: int = RESAMPLES, seed: int = 0, level: float = LEVEL
) -> Interval | None:
    """The cell's test error (pp, mean over seeds) with its interval; None without utterances to score."""
    seeds = sorted(cell)
    utterances = _shared(cell, seeds, speaker_of)
    if not seeds or not utterances:
        return None
    errors, counts, n_speakers = _errors_per_speaker([cell[s] for s in seeds], utterances, speaker_of)

    def mean_error(weighted_errors: np.ndarray, weighted_counts: np.ndarray) -> np.ndarray:
        return (weighted_errors / weighted_counts[:, None]).mean(axis=1)

    estimate, low, high = _interval(mean_error, errors, counts, resamples, seed, level)
    return Interval(estimate, low, high, n_speakers, len(utterances), len(seeds), resamples)


def bootstrap_difference(
    cell: Correctness,
    baseline: Correctness,
    speaker_of: Mapping[str, str],
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> Interval | None:
    """The cell's test error minus the baseline's (pp, mean over shared seeds), both on the same resampled speakers;
    None when they share no seed or utterance."""
    seeds = sorted(set(cell) & set(baseline))
    utterances = sorted(set(_shared(cell, seeds, speaker_of)) & set(_shared(baseline, seeds, speaker_of)))
    if not seeds or not utterances:
        return None
    runs = [cell[s] for s in seeds] + [baseline[s] for s in seeds]
    errors, counts, n_speakers = _errors_per_speaker(runs, utterances, speaker_of)

    def mean_difference(weighted_errors: np.ndarray, weighted_counts: np.ndarray) -> np.ndarray:
        rates = weighted_errors / weighted_counts[:, None]
        return (rates[:, : len(seeds)] - rates[:, len(seeds) :]).mean(axis=1)

    estimate, low, high = _interval(mean_difference, errors, counts, resamples, seed, level)
    return Interval(estimate, low, high, n_speakers, len(utterances), len(seeds), resamples)


def render_speaker_intervals(results: Mapping, speaker_of: Mapping[str, str] | None) -> tuple[str, dict]:
    """Markdown of each cell's test error with its seed spread and its speaker-bootstrap interval (our protocol), and
    the intervals as a JSON-ready dict."""
    if not speaker_of:
        return "Unavailable: the grid's corpus could not be read, so test utterances have no speakers.", {}
    lines = ["| cell | seeds | test error (%), mean ± std over seeds | 95 % speaker-bootstrap interval (%) | "
             "test speakers | test utterances |", "|---|---|---|---|---|---|"]  # fmt: skip
    intervals = {}
    for name, cell in results.items():
        interval = bootstrap_error(cell.test_correct, speaker_of) if cell.test_correct else None
        if interval is None:
            lines.append(f"| {name} | {len(cell.test_errors)} | {cell.mean:.2f} ± {cell.std:.2f} | unavailable | | |")
            continue
        intervals[name] = interval.to_dict()
        lines.append(f"| {name} | {interval.seeds} | {cell.mean:.2f} ± {cell.std:.2f} | [{interval.low:.2f}, "
                     f"{interval.high:.2f}] | {interval.speakers} | {interval.utterances} |")  # fmt: skip
    return "\n".join(lines), intervals


def speaker_notes() -> str:
    return (
        "The seed spread is training randomness on one fixed test set. The speaker-bootstrap interval is test-speaker "
        f"sampling: the test speakers are resampled with replacement ({RESAMPLES} times, with all their utterances), "
        "the runs held fixed, and the 2.5th and 97.5th percentiles of the cell's error (mean over its seeds) are "
        "shown. It needs the runs' per-utterance predictions (test_correctness.csv, the epoch chosen on validation)."
    )
