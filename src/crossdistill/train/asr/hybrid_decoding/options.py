"""Options of hybrid decoding and alignment (light: the command line reads their defaults when it starts).

One definition per option: the CLI's defaults and help come from these dataclasses.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crossdistill.data.asr.word_lm import WordLmOptions


@dataclass(frozen=True)
class SearchOptions:
    """Beam-search settings of flashlight's ``LexiconDecoderOptions`` (ASG mode).

    Fields:
      beam: hypotheses kept after each frame (``beam_size``).
      beam_tokens: tokens tried per frame, the best by acoustic score (``beam_size_token``); None: all 121. Fewer
        can lose the right path: a phone state the AM scores low on the frame where the path must enter it (a short
        phone) is then never tried (measured in docs/asr.md).
      beam_threshold: hypotheses further than this below the best are dropped.
      lm_weight: weight of the word LM's log10 probabilities.
      word_score: added per decoded word (insertion bonus, negative: penalty).
      sil_score: added per frame of inter-word silence.
    """

    # lm_weight and word_score: the best on dev of an oracle AM on the default corpus and of the tiny corpus's AM
    # (docs/asr.md); tune them on dev for a given model (``HybridDecodeOptions.tune_split``).
    beam: int = 64
    beam_tokens: int | None = None
    beam_threshold: float = 30.0
    lm_weight: float = 4.0
    word_score: float = -4.0
    sil_score: float = 0.0

    def check(self) -> None:
        if self.beam < 1 or (self.beam_tokens is not None and self.beam_tokens < 1):
            raise ValueError(f"beam ({self.beam}) and beam_tokens ({self.beam_tokens}) must be >= 1")
        if not self.beam_threshold > 0:
            raise ValueError(f"beam_threshold must be > 0, got {self.beam_threshold}")
        if self.lm_weight < 0:
            raise ValueError(f"lm_weight must be >= 0, got {self.lm_weight}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HybridDecodeOptions:
    """What ``decode_hybrid`` does.

    Fields:
      split: the split decoded and reported.
      search: beam and weights (``search.SearchOptions``).
      prior_scale: exponent of the prior division of the hybrid scores (``tokens``).
      lm: a word LM file (ARPA or KenLM binary) to use instead of building one from the corpus's LM text.
      use_lm: False decodes with the lexicon alone.
      word_lm: how the trigram is built from the corpus's LM text (``data.asr.word_lm``).
      lexicon: a lexicon file to use instead of the corpus's.
      variants_from: split whose alignments teach pronunciation variants (``pronunciations``; None: the lexicon's
        pronunciations only). A corpus without alignments of that split decodes without variants (the report says
        so). variants_min_count, variants_min_share: how often a variant must be seen to be kept.
      tune_split: split on which the LM weight and word score are tuned (None: no tuning).
      lm_weights, word_scores: the tuning grid.
      batch_size: utterances per AM forward. threads: torch CPU threads (None: torch's default).
      features_cache: root of the fbank cache (None: ``$CROSSDISTILL_CACHE`` or ``~/.cache/crossdistill``).
      lm_cache: root of the word-LM cache (None: the same default root).
      units: the units folder (None: the one recorded with the model).
    """

    split: str = "test"
    search: SearchOptions = field(default_factory=SearchOptions)
    prior_scale: float = 1.0
    lm: Path | None = None
    use_lm: bool = True
    word_lm: WordLmOptions = field(default_factory=WordLmOptions)
    lexicon: Path | None = None
    variants_from: str | None = "train"
    variants_min_count: int = 2
    variants_min_share: float = 0.05
    tune_split: str | None = None
    lm_weights: tuple[float, ...] = (2.0, 4.0, 8.0)
    word_scores: tuple[float, ...] = (-4.0, 0.0)
    batch_size: int = 8
    threads: int | None = 1
    features_cache: Path | None = None
    lm_cache: Path | None = None
    units: Path | None = None

    def check(self) -> None:
        self.search.check()
        self.word_lm.check()
        if self.lm is not None and not self.use_lm:
            raise ValueError("--lm names a word LM and --no-lm turns it off: choose one")
        if self.variants_from is not None and self.variants_from in (self.split, self.tune_split):
            raise ValueError(
                f"--variants-from {self.variants_from!r} is the decoded or the tuning split: pronunciation variants "
                "are learned from training alignments only"
            )
        if self.variants_min_count < 1 or not 0.0 < self.variants_min_share <= 1.0:
            raise ValueError("variants need min_count >= 1 and 0 < min_share <= 1")
        if self.tune_split is not None:
            if self.tune_split == self.split:
                raise ValueError(
                    f"--tune-split {self.tune_split!r} is the reported split: weights are tuned on a dev split, "
                    "never on the split they are reported on"
                )
            if not self.lm_weights or not self.word_scores:
                raise ValueError("tuning needs at least one LM weight and one word score")
            if any(w < 0 for w in self.lm_weights):
                raise ValueError(f"LM weights must be >= 0, got {self.lm_weights}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {self.threads}")

    def to_dict(self) -> dict:
        result = dataclasses.asdict(self)
        for key in ("lm", "lexicon", "features_cache", "lm_cache", "units"):
            result[key] = None if result[key] is None else str(result[key])
        result["word_lm"]["prune"] = list(self.word_lm.prune)
        return result


@dataclass(frozen=True)
class HybridAlignOptions:
    """What ``align_hybrid`` does.

    Fields:
      splits: the splits to align (None: every split of the corpus).
      prior_scale: exponent of the prior division of the senone scores (0: align to posteriors).
      lexicon: a lexicon file to use instead of the corpus's.
      batch_size, threads, features_cache, units: as for decoding (``decode.HybridDecodeOptions``).
    """

    splits: tuple[str, ...] | None = None
    prior_scale: float = 1.0
    lexicon: Path | None = None
    batch_size: int = 8
    threads: int | None = 1
    features_cache: Path | None = None
    units: Path | None = None

    def check(self) -> None:
        if not 0.0 <= self.prior_scale <= 2.0:
            raise ValueError(f"--prior-scale must lie in [0, 2], got {self.prior_scale}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {self.threads}")


DEFAULT_SEARCH = SearchOptions()
DEFAULT_DECODE = HybridDecodeOptions()
DEFAULT_ALIGN = HybridAlignOptions()


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict:
    """The options among ``names`` that the command line set (None means: keep the default)."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def decode_options_from_args(args: argparse.Namespace) -> HybridDecodeOptions:
    """``crossdistill asr decode``'s arguments as options (unset arguments keep the dataclass defaults)."""
    search = dataclasses.replace(
        DEFAULT_SEARCH,
        **_given(args, ("beam", "beam_tokens", "beam_threshold", "lm_weight", "word_score", "sil_score")),
    )
    word_lm = DEFAULT_DECODE.word_lm
    if getattr(args, "prune", None) is not None:
        word_lm = dataclasses.replace(word_lm, prune=tuple(args.prune))
    given = _given(args, ("split", "prior_scale", "lm", "lexicon", "variants_from", "tune_split", "lm_weights",
                          "word_scores", "batch_size", "threads", "features_cache", "lm_cache", "units"))  # fmt: skip
    if getattr(args, "no_variants", False):
        given["variants_from"] = None
    return dataclasses.replace(
        DEFAULT_DECODE, search=search, word_lm=word_lm, use_lm=not getattr(args, "no_lm", False), **given
    )


def align_options_from_args(args: argparse.Namespace) -> HybridAlignOptions:
    """``crossdistill asr align``'s arguments as options (unset arguments keep the dataclass defaults)."""
    given = _given(args, ("prior_scale", "lexicon", "batch_size", "threads", "features_cache", "units"))
    if getattr(args, "splits", None) is not None:
        given["splits"] = tuple(args.splits)
    return dataclasses.replace(DEFAULT_ALIGN, **given)
