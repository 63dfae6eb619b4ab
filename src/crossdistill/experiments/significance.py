"""Paired tests of a grid cell against vanilla, each stating which noise it speaks to and its power.

Two sources of noise separate a cell's test error from vanilla's, and each test speaks to one of them:

- **Seed noise** (training randomness: initialization, shuffling, dropout) is tested over seeds with a paired
  t-test on the per-seed differences of test error, with the exact sign test as a distribution-free check.
  All seeds share one test set, so these tests say nothing about test-set sampling.
- **Test-set sampling** (which utterances happen to be in the test set) is tested within each seed with the
  exact McNemar test on the utterances that exactly one of the two runs gets right, combined across seeds by
  summing those discordant counts (a stratified exact test, see :func:`utterance_test`). It conditions on the
  trained runs, so it speaks even for one seed but says nothing about seed noise.

Power is stated as the smallest absolute difference (in percentage points) the test would detect with 80 %
probability at the 5 % level, given the spread (t-test) or the discordant count (McNemar) observed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import optimize, stats

ALPHA = 0.05
POWER = 0.8
MIN_SEEDS_T_TEST = 3  # with 2 seeds (1 degree of freedom) only huge effects are detectable: see seed_notes
# Test errors are fractions of a finite test set stored as float32 means: differences (and spreads) below this
# many percentage points are rounding, not a difference (one utterance in a million is 1e-4 pp).
TIE_TOLERANCE_PP = 1e-6


def min_seeds_for_sign_test(alpha: float = ALPHA) -> int:
    """Smallest number of seeds at which the two-sided exact sign test can reach p < alpha (6 at 5 %)."""
    n = 1
    while 2 * 0.5**n >= alpha:
        n += 1
    return n


def not_testable(n_seeds: int, needs: int) -> str:
    return f"not testable with {n_seeds} seed{'s' if n_seeds != 1 else ''} (needs {needs})"


@dataclass(frozen=True)
class SeedTest:
    """Paired tests over seeds of the differences cell - vanilla (pp; < 0 means the cell makes fewer errors)."""

    differences: tuple[float, ...]
    t_p: float | None  # None: not testable (too few seeds, or no spread)
    t_note: str  # why not testable, or ""
    detectable_pp: float | None  # 80 %-power detectable |mean difference| at the observed spread
    sign_p: float | None
    sign_note: str
    interval: tuple[float, float] | None = None  # the t-test's 1 - alpha (95 %) interval of the mean difference

    @property
    def seeds(self) -> int:
        return len(self.differences)

    @property
    def mean_difference(self) -> float:
        mean = statistics.mean(self.differences)
        return 0.0 if abs(mean) < TIE_TOLERANCE_PP else mean

    @property
    def wins(self) -> int:
        return sum(d < 0 for d in self.differences)

    @property
    def losses(self) -> int:
        return sum(d > 0 for d in self.differences)


def t_test_detectable_effect(n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The standardized mean difference (in standard deviations of the paired differences) that a two-sided
    one-sample t-test on ``n`` differences detects with probability ``power`` at level ``alpha``."""
    df = n - 1
    critical = stats.t.ppf(1 - alpha / 2, df)

    def shortfall(effect: float) -> float:
        noncentrality = effect * math.sqrt(n)
        upper = stats.nct.sf(critical, df, noncentrality)
        lower = stats.nct.cdf(-critical, df, noncentrality)
        return upper + (0.0 if math.isnan(lower) else lower) - power

    return optimize.brentq(shortfall, 1e-6, 50.0)


def seed_test(differences: Sequence[float], alpha: float = ALPHA) -> SeedTest:
    """Paired t-test and exact sign test on per-seed differences, or why they cannot be run."""
    differences = tuple(0.0 if abs(d) < TIE_TOLERANCE_PP else float(d) for d in differences)
    n = len(differences)
    t_p = detectable = interval = None
    if n < MIN_SEEDS_T_TEST:
        t_note = not_testable(n, MIN_SEEDS_T_TEST)
    elif statistics.stdev(differences) < TIE_TOLERANCE_PP:
        t_note = "no spread across seeds: t undefined"
    else:
        result = stats.ttest_1samp(differences, 0.0)
        t_p = float(result.pvalue)
        low, high = result.confidence_interval(1 - alpha)
        interval = (float(low), float(high))
        detectable = t_test_detectable_effect(n, alpha) * statistics.stdev(differences)
        t_note = ""
    sign_needs = min_seeds_for_sign_test(alpha)
    nonzero = [d for d in differences if d != 0]
    if n < sign_needs:
        sign_p, sign_note = None, not_testable(n, sign_needs)
    else:
        sign_p = float(stats.binomtest(sum(d > 0 for d in nonzero), len(nonzero)).pvalue) if nonzero else 1.0
        sign_note = ""
    return SeedTest(differences, t_p, t_note, detectable, sign_p, sign_note, interval)


@dataclass(frozen=True)
class UtteranceTest:
    """Exact McNemar test on paired per-utterance correctness, summed over seeds.

    ``cell_only`` / ``vanilla_only``: utterances (summed over seeds) that only the cell's / only vanilla's run
    gets right; ``pairs``: utterance pairs compared (test utterances x seeds).
    """

    seeds: int
    pairs: int
    cell_only: int
    vanilla_only: int
    p: float
    detectable_pp: float | None  # 80 %-power detectable |difference| given the discordant count; None: none is

    @property
    def discordant(self) -> int:
        return self.cell_only + self.vanilla_only

    @property
    def difference_pp(self) -> float:
        """The cell's test error minus vanilla's, in pp, over all compared pairs."""
        return 100 * (self.vanilla_only - self.cell_only) / self.pairs


def mcnemar_exact_p(cell_only: int, vanilla_only: int) -> float:
    """Two-sided exact McNemar p: under no difference, each discordant pair favours either run with
    probability 1/2. No discordant pair (identical correctness) gives p = 1."""
    discordant = cell_only + vanilla_only
    if discordant == 0:
        return 1.0
    return float(stats.binomtest(cell_only, discordant, 0.5).pvalue)


def mcnemar_detectable_effect(discordant: int, pairs: int, alpha: float = ALPHA, power: float = POWER):
    """Smallest |difference in error| (pp over ``pairs``) that the exact test on ``discordant`` pairs detects with
    probability ``power``; None when no split of that many discordant pairs reaches ``alpha``."""
    reject = [k for k in range(discordant + 1) if mcnemar_exact_p(k, discordant - k) < alpha]
    if not reject:
        return None

    def shortfall(share: float) -> float:  # share: probability that a discordant pair favours one run
        return float(stats.binom.pmf(reject, discordant, share).sum()) - power

    if shortfall(1.0) < 0:
        return None
    share = optimize.brentq(shortfall, 0.5, 1.0)
    return 100 * discordant * (2 * share - 1) / pairs


def utterance_test(
    cell: Mapping[int, Mapping[str, bool]], vanilla: Mapping[int, Mapping[str, bool]], alpha: float = ALPHA
) -> UtteranceTest | None:
    """Compare per-utterance correctness ``{seed: {utt_id: correct}}`` on the seeds and utterances both have.

    The seeds are combined by summing their discordant counts. Under the null that, in every seed, each
    discordant utterance is as likely to favour either run, the sum is exactly Binomial(total, 1/2): the test
    stays exact at the small counts we have, keeps the direction of the difference (Fisher's combination of
    two-sided p values would count seeds that disagree in direction as evidence), and weighs every discordant
    utterance equally (Stouffer's would need weights and a normal approximation of discrete p values). The
    seeds share their test utterances, so this adds training runs, not new test speakers. Returns None when no
    seed has both.
    """
    seeds = sorted(set(cell) & set(vanilla))
    pairs = cell_only = vanilla_only = 0
    for seed in seeds:
        shared = cell[seed].keys() & vanilla[seed].keys()
        pairs += len(shared)
        cell_only += sum(cell[seed][u] and not vanilla[seed][u] for u in shared)
        vanilla_only += sum(vanilla[seed][u] and not cell[seed][u] for u in shared)
    if not seeds or not pairs:
        return None
    p = mcnemar_exact_p(cell_only, vanilla_only)
    detectable = mcnemar_detectable_effect(cell_only + vanilla_only, pairs, alpha)
    return UtteranceTest(len(seeds), pairs, cell_only, vanilla_only, p, detectable)


def holm(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p values of a family of tests (step-down, monotone, capped at 1)."""
    order = sorted(p_values, key=p_values.get)
    adjusted, running = {}, 0.0
    for rank, name in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p_values[name]))
        adjusted[name] = running
    return adjusted


@dataclass(frozen=True)
class WordErrorTest:
    """Wilcoxon signed-rank test on per-utterance word errors, cell against a baseline (test-set sampling).

    Each test utterance u gives one matched pair: d_u = the cell's word errors on u minus the baseline's, averaged
    over the seeds both have (so utterances, the units that test-set sampling draws, stay the independent units;
    the seeds only make each d_u less noisy). ``better`` / ``worse`` / ``tied``: utterances with d_u < 0, > 0, = 0.
    ``difference_pp``: the cell's WER minus the baseline's (pp), pooled over the utterances and averaged over the
    seeds. ``p``: two-sided, zero differences dropped (Wilcoxon's treatment); 1.0 when every d_u is 0.
    ``detectable_pp``: a guide to power, the |difference| that a paired t-test on the same d_u finds 4 times out of 5
    (for continuous symmetric differences the signed-rank test needs at most 1 / 0.864, about 16 % more, pairs for
    the same power: the Hodges-Lehmann bound); None when the d_u have no spread.
    """

    seeds: int
    utterances: int
    reference_words: int
    better: int
    worse: int
    tied: int
    difference_pp: float
    p: float
    detectable_pp: float | None


def word_error_test(
    cell: Mapping[int, Mapping[str, int]],
    baseline: Mapping[int, Mapping[str, int]],
    reference_words: Mapping[str, int],
    alpha: float = ALPHA,
) -> WordErrorTest | None:
    """Compare ``{seed: {utt_id: word errors}}`` of two systems on the seeds both have and the utterances every one
    of those runs scored; ``reference_words`` gives each utterance's reference length. None when nothing is shared.

    Why this test: it pairs the two systems on the same utterances and uses how many words each gets wrong (the
    whole-sentence McNemar test keeps only right/wrong per utterance). NIST's MAPSSWE test pairs finer segments
    (stretches between words both systems get right), which needs both hypotheses aligned to the reference
    together, and applies a normal approximation to their mean; read speech comes in utterances separated by
    silence, so an utterance is already a segment whose errors do not spill into the next, and the signed-rank
    test needs no normality of differences that are mostly 0 with a long tail.
    """
    seeds = sorted(set(cell) & set(baseline))
    if not seeds:
        return None
    shared = set(reference_words)
    for seed in seeds:
        shared &= cell[seed].keys() & baseline[seed].keys()
    utterances = sorted(shared)
    if not utterances:
        return None
    differences = [statistics.mean(cell[s][u] - baseline[s][u] for s in seeds) for u in utterances]
    words = sum(reference_words[u] for u in utterances)
    nonzero = [d for d in differences if d != 0]
    p = float(stats.wilcoxon(nonzero, zero_method="wilcox").pvalue) if nonzero else 1.0
    spread = statistics.stdev(differences) if len(differences) > 1 else 0.0
    detectable = None
    if spread > 0:
        detectable = 100 * t_test_detectable_effect(len(differences), alpha) * spread * len(differences) / words
    return WordErrorTest(
        seeds=len(seeds),
        utterances=len(utterances),
        reference_words=words,
        better=sum(d < 0 for d in differences),
        worse=sum(d > 0 for d in differences),
        tied=sum(d == 0 for d in differences),
        difference_pp=100 * sum(differences) / words,
        p=p,
        detectable_pp=detectable,
    )
