"""The comparisons a grid declares in advance (its ``primary`` list), tested first and on their own.

A grid config may name pairs ``[cell, baseline]`` under ``primary``; ``crossdistill grid`` records them in
``grid.json`` before any run and refuses another list on a resume, so the report's answer to those questions cannot
have been picked after seeing the table. Each pair gets, on the seeds both cells finished:

- over seeds (training randomness): the paired t-test and the exact sign test on the per-seed differences, under
  each selection protocol (``crossdistill.experiments.protocols``), Holm-adjusted over the primary pairs alone;
- over test utterances (test-set sampling): the exact McNemar test per seed, combined by summing the discordant
  counts (``significance.utterance_test``), Holm-adjusted over the primary pairs;
- over test speakers: the speaker-clustered bootstrap interval of the difference (``speaker_bootstrap``).

The utterance and speaker views need each run's per-utterance predictions, which runs keep for the epoch chosen on
validation only, so they speak to our protocol alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crossdistill.experiments.protocols import PROTOCOLS, protocol_errors
from crossdistill.experiments.significance import ALPHA, SeedTest, UtteranceTest, holm, seed_test, utterance_test
from crossdistill.experiments.speaker_bootstrap import Interval, bootstrap_difference


@dataclass(frozen=True)
class PrimaryComparison:
    """One declared pair. ``seeds`` and ``t_p_holm`` are keyed by protocol; None where a cell has no finished run."""

    cell: str
    baseline: str
    seeds: dict[str, SeedTest] | None
    t_p_holm: dict[str, float | None]
    utterances: UtteranceTest | None
    utterance_p_holm: float | None
    speakers: Interval | None

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"cell": self.cell, "baseline": self.baseline}
        if self.seeds is not None:
            entry["over_seeds"] = {
                protocol: {"differences_pp": list(t.differences), "mean_difference_pp": t.mean_difference,
                           "wins": t.wins, "losses": t.losses, "t_test_p": t.t_p, "t_test_note": t.t_note,
                           "t_test_p_holm": self.t_p_holm.get(protocol), "t_test_detectable_pp": t.detectable_pp,
                           "sign_test_p": t.sign_p, "sign_test_note": t.sign_note}
                for protocol, t in self.seeds.items()
            }  # fmt: skip
        if self.utterances is not None:
            u = self.utterances
            entry["over_utterances"] = {"pairs": u.pairs, "right_only_with_cell": u.cell_only,
                                        "right_only_with_baseline": u.vanilla_only, "mcnemar_p": u.p,
                                        "mcnemar_p_holm": self.utterance_p_holm,
                                        "detectable_pp": u.detectable_pp}  # fmt: skip
        if self.speakers is not None:
            entry["over_speakers"] = self.speakers.to_dict()
        return entry


def compare_primary(
    results: Mapping[str, Any], primary: Sequence[Sequence[str]], speaker_of: Mapping[str, str] | None
) -> list[PrimaryComparison]:
    """Test every declared pair on the report's ``CellResult``s; ``speaker_of`` maps test utterances to speakers
    (None: the speaker bootstrap is unavailable)."""
    raw = []
    for cell_name, baseline_name in primary:
        cell, baseline = results.get(cell_name), results.get(baseline_name)
        if cell is None or baseline is None:
            raw.append((cell_name, baseline_name, None, None, None))
            continue
        cell_errors, baseline_errors = protocol_errors(cell), protocol_errors(baseline)
        seeds = {}
        for protocol in PROTOCOLS:
            shared = sorted(set(cell_errors[protocol]) & set(baseline_errors[protocol]))
            if shared:
                seeds[protocol] = seed_test([cell_errors[protocol][s] - baseline_errors[protocol][s] for s in shared])
        shared = sorted(set(cell.test_errors) & set(baseline.test_errors))
        complete = bool(shared) and all(s in cell.test_correct and s in baseline.test_correct for s in shared)
        utterances = utterance_test(cell.test_correct, baseline.test_correct) if complete else None
        speakers = None
        if complete and speaker_of:
            speakers = bootstrap_difference(cell.test_correct, baseline.test_correct, speaker_of)
        raw.append((cell_name, baseline_name, seeds, utterances, speakers))
    t_holm = {
        protocol: holm({f"{c}|{b}": s[protocol].t_p for c, b, s, _, _ in raw
                        if s and protocol in s and s[protocol].t_p is not None})
        for protocol in PROTOCOLS
    }  # fmt: skip
    u_holm = holm({f"{c}|{b}": u.p for c, b, _, u, _ in raw if u is not None})
    return [
        PrimaryComparison(c, b, s, {p: t_holm[p].get(f"{c}|{b}") for p in PROTOCOLS}, u, u_holm.get(f"{c}|{b}"), sp)
        for c, b, s, u, sp in raw
    ]


def _p(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _verdict(adjusted: float | None) -> str:
    return "n/a" if adjusted is None else ("yes" if adjusted < ALPHA else "no")


def render_primary(comparisons: Sequence[PrimaryComparison]) -> str:
    """Markdown: the seed tests per protocol, then the utterance and speaker views of our protocol."""
    if not comparisons:
        return "None declared: the grid config has no `primary` list, so every comparison below is exploratory."
    lines = ["| comparison | protocol | seeds | Δ (pp) | wins/losses | paired t p (Holm) | sign-test p | "
             "beyond seed noise |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in comparisons:
        name = f"{c.cell} vs {c.baseline}"
        if c.seeds is None:
            lines.append(f"| {name} | | | | | | | not run (a cell has no finished run) |")
            continue
        for protocol, label in PROTOCOLS.items():
            t = c.seeds.get(protocol)
            if t is None:
                continue
            t_text = f"{_p(t.t_p)} ({_p(c.t_p_holm[protocol])})" if t.t_p is not None else t.t_note
            lines.append(
                f"| {name} | {label} | {t.seeds} | {t.mean_difference:+.2f} | {t.wins}/{t.losses} | {t_text} | "
                f"{_p(t.sign_p) if t.sign_p is not None else t.sign_note} | {_verdict(c.t_p_holm[protocol])} |"
            )
    lines += ["", "| comparison (our protocol) | utterance pairs | right only with the cell | right only with the "
              "baseline | McNemar p (Holm) | beyond test-set sampling | Δ (pp) with 95 % speaker-bootstrap interval |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in comparisons:
        name = f"{c.cell} vs {c.baseline}"
        u, sp = c.utterances, c.speakers
        if u is None:
            lines.append(f"| {name} | unavailable (a run lacks per-utterance predictions, or a cell was not run) "
                         "| | | | | |")  # fmt: skip
            continue
        interval = "unavailable (no corpus)"
        if sp is not None:
            interval = f"{sp.describe()} ({sp.speakers} speaker{'s' if sp.speakers != 1 else ''})"
        lines.append(f"| {name} | {u.pairs} | {u.cell_only} | {u.vanilla_only} | {_p(u.p)} ({_p(c.utterance_p_holm)})"
                     f" | {_verdict(c.utterance_p_holm)} | {interval} |")  # fmt: skip
    return "\n".join(lines)


def primary_notes() -> str:
    return (
        "Declared in the grid config and recorded in grid.json before any run; Holm's adjustment runs over these "
        "comparisons only (per protocol for the t-test). Δ < 0: the cell makes fewer errors than its baseline. The "
        "t-test and the sign test speak to seed noise; McNemar (per seed, discordant counts summed over seeds) to "
        "test-set sampling, treating utterances as independent; the speaker-bootstrap interval resamples test "
        "speakers with all their utterances, holding the trained runs fixed, so it is the honest width when errors "
        "cluster by voice. An interval that contains 0 says the test speakers could as well favour the baseline."
    )
