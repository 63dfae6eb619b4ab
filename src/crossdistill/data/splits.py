"""How the synthetic corpus divides into train, valid and test: the random split and two challenge splits.

``random`` (the default): speakers are disjoint across splits (about 77/10/10, like FSC's original split) and
every speaker draws from all phrasings, so every test phrasing also occurs in training: the setting where FSC
saturates near 99 %.

The challenge splits follow Arora et al. ("Rethinking End-to-End Evaluation of Decomposable Tasks: A Case Study on
Spoken Language Understanding", Interspeech 2021, arXiv:2106.15065), rebuilt for a grammar we own. Both keep the
random split's speakers (the same speaker indices in the same splits), so each differs from ``random`` in one
thing only:

``unseen-utterance``: the phrasings (transcripts) are partitioned per intent between train, valid and test, and
  each speaker says only phrasings of its own split; no valid or test phrasing occurs in training, and every
  intent keeps at least one training phrasing. Per intent with ``n`` phrasings, ``max(1, n // 8)`` go to test
  (Arora et al.'s heuristic: ``select_utterance_groups_to_add_to_test`` in maseEval/mase's
  ``processing_scripts/resplit_data.py``), as many to valid, and the rest to train; an intent with 2 phrasings
  gives test one and valid none, an intent with one phrasing keeps it in training. Interpretation: Arora et al.'s
  valid set shares phrasings with training and their utterance test set shares speakers with it; ours holds out
  valid phrasings too (so the epoch is chosen on unseen phrasings, never on test's) and keeps held-out speakers,
  so that against ``random`` only the phrasings change.
``unseen-speaker``: the eSpeak voice variants (the timbre of a voice: formants, breathiness, pitch contour) are
  partitioned between train, valid and test, so no valid or test speaker sounds like any training speaker.
  Interpretation: Arora et al. choose test speakers whose demographics and ASR errors differ from training; voice
  variants are the synthetic corpus's nearest equivalent of who is speaking (accents stay shared).
``unseen-engine`` (with several synthesis engines, ``crossdistill.data.engines``): one engine (all its voices) is kept
  out of train, valid and test, which are the random split's speakers drawn from the other engines; as many extra
  speakers as test has, all of the held-out engine, say held-out-style phrasings in a second test set,
  ``test_unseen_engine`` (``crossdistill.data.corpus.UNSEEN_ENGINE_TEST``). ``test`` stays the usual
  speaker-disjoint test set, so a model is scored on both: a new voice of a known engine, and an engine never heard.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from crossdistill.data.grammar import Phrasing

if TYPE_CHECKING:
    import numpy as np

RANDOM, UNSEEN_UTTERANCE, UNSEEN_SPEAKER = "random", "unseen-utterance", "unseen-speaker"
UNSEEN_ENGINE = "unseen-engine"
SPLIT_KINDS = (RANDOM, UNSEEN_UTTERANCE, UNSEEN_SPEAKER, UNSEEN_ENGINE)
SINGLE_ENGINE_SPLIT_KINDS = (RANDOM, UNSEEN_UTTERANCE, UNSEEN_SPEAKER)  # those that need no --engines
DEFAULT_SPLIT = RANDOM
SPLIT_NAMES = ("train", "valid", "test")
PHRASINGS_PER_HELD_OUT = 8  # Arora et al.: an intent with n phrasings gives max(1, n // 8) of them to test

Item = TypeVar("Item")


def check_split_kind(kind: str, option: str = "--split") -> str:
    """Return ``kind`` if it names a split; ``ValueError`` naming ``option`` and the choices otherwise."""
    if kind not in SPLIT_KINDS:
        raise ValueError(f"{option} {kind!r} is unknown; choose one of {', '.join(SPLIT_KINDS)}")
    return kind


@dataclass(frozen=True)
class Partition(Generic[Item]):
    """Items (phrasings or voice variants) given to train, valid and test; each item is in exactly one."""

    train: tuple[Item, ...]
    valid: tuple[Item, ...]
    test: tuple[Item, ...]

    def of(self, split: str) -> tuple[Item, ...]:
        """The items of ``split`` (train, valid or test)."""
        if split not in SPLIT_NAMES:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLIT_NAMES}")
        return getattr(self, split)


def partition_phrasings(phrasings: Sequence[Phrasing], rng: np.random.Generator) -> Partition[Phrasing]:
    """Partition ``phrasings`` per intent (intents in grammar order, each intent's phrasings shuffled by ``rng``).

    Every intent keeps at least one training phrasing; see the module docstring for the counts.
    """
    by_intent: dict[tuple[str, str, str], list[Phrasing]] = {}
    for phrasing in phrasings:
        by_intent.setdefault(phrasing.intent, []).append(phrasing)
    parts: dict[str, list[Phrasing]] = {split: [] for split in SPLIT_NAMES}
    for own in by_intent.values():
        shuffled = [own[i] for i in rng.permutation(len(own))]
        held_out = max(1, len(own) // PHRASINGS_PER_HELD_OUT)
        n_test = min(held_out, len(own) - 1)
        n_valid = min(held_out, len(own) - 1 - n_test)
        parts["test"] += shuffled[:n_test]
        parts["valid"] += shuffled[n_test : n_test + n_valid]
        parts["train"] += shuffled[n_test + n_valid :]
    partition = Partition(*(tuple(parts[split]) for split in SPLIT_NAMES))
    check_every_intent_trained(
        {p.intent for p in partition.train},
        [(p.intent, f"{split} phrasing {p.text!r}") for split in ("valid", "test") for p in partition.of(split)],
    )
    return partition


def partition_variants(variants: Sequence[str], rng: np.random.Generator, n_valid: int, n_test: int) -> Partition[str]:
    """Give ``n_valid`` voice variants to valid and ``n_test`` to test (drawn by ``rng``) and the rest to train."""
    if n_valid < 1 or n_test < 1 or n_valid + n_test >= len(variants):
        raise ValueError(
            f"cannot hold out {n_valid} valid and {n_test} test voice variants of {len(variants)} and keep some for "
            "training"
        )
    order = [variants[i] for i in rng.permutation(len(variants))]
    return Partition(train=tuple(order[n_valid + n_test :]), valid=tuple(order[:n_valid]),
                     test=tuple(order[n_valid : n_valid + n_test]))  # fmt: skip


@dataclass(frozen=True)
class SplitLayout:
    """What a split kind changes in a corpus plan.

    Fields:
      kind: one of ``SPLIT_KINDS``.
      phrasings: the phrasings each split may say (``None``: the random split's rule, every speaker draws from all).
      variants: the voice variants each split's speakers may use (``None``: every speaker draws from all).
      held_out_engine: the engine kept for the unseen-engine test set (``None`` for the other kinds).
    """

    kind: str
    phrasings: Partition[Phrasing] | None = None
    variants: Partition[str] | None = None
    held_out_engine: str | None = None

    def variants_of(self, split: str) -> tuple[str, ...] | None:
        """The variants a speaker of ``split`` may use (``None``: all)."""
        return None if self.variants is None else self.variants.of(split)

    def record(self) -> dict[str, Any] | None:
        """What ``corpus.json`` records under ``split`` (``None`` for the random split, whose files stay as before)."""
        if self.kind == RANDOM:
            return None
        record: dict[str, Any] = {"kind": self.kind}
        if self.phrasings is not None:
            record["phrasings"] = partition_record(self.phrasings)
        if self.variants is not None:
            record["variants"] = partition_record(self.variants)
        if self.held_out_engine is not None:
            record["held_out_engine"] = self.held_out_engine
        return record


def layout_split(
    kind: str,
    split_of: Sequence[str],
    phrasings: Sequence[Phrasing],
    variants: Sequence[str],
    rng: np.random.Generator,
    held_out_engine: str | None = None,
) -> SplitLayout:
    """The layout of split ``kind`` for speakers assigned ``split_of``: held-out voice variants in proportion to the
    held-out speakers (at least one per split); for ``unseen-engine``, the engine ``held_out_engine``."""
    check_split_kind(kind)
    if (kind == UNSEEN_ENGINE) != (held_out_engine is not None):
        raise ValueError(f"--held-out-engine goes with --split {UNSEEN_ENGINE}, and that split needs it")
    if kind == UNSEEN_ENGINE:
        return SplitLayout(kind, held_out_engine=held_out_engine)
    if kind == UNSEEN_UTTERANCE:
        return SplitLayout(kind, phrasings=partition_phrasings(phrasings, rng))
    if kind == UNSEEN_SPEAKER:

        def share(split: str) -> int:
            return max(1, round(len(variants) * list(split_of).count(split) / len(split_of)))

        return SplitLayout(kind, variants=partition_variants(variants, rng, share("valid"), share("test")))
    return SplitLayout(kind)


def check_every_intent_trained(train_intents: set[tuple[str, str, str]], held_out: Iterable[tuple[Any, str]]) -> None:
    """Refuse a split that leaves a held-out intent without training phrasings.

    ``held_out`` yields (intent, where) pairs; the first intent not in ``train_intents`` raises ``ValueError``
    naming the intent and where it was found.
    """
    for intent, where in held_out:
        if tuple(intent) not in train_intents:
            raise ValueError(f"{where}: intent {tuple(intent)} has no training phrasing in this split")


def partition_record(partition: Partition[Any]) -> dict[str, list[str]]:
    """A JSON-ready record of a partition: per split, its phrasings' texts or its variant names."""
    return {
        split: [item.text if isinstance(item, Phrasing) else str(item) for item in partition.of(split)]
        for split in SPLIT_NAMES
    }


def recorded_split(metadata: dict[str, Any]) -> str | None:
    """The split kind a corpus's ``corpus.json`` records (``random`` when a synthetic corpus names none); ``None``
    for a corpus without ``corpus.json`` (a real FSC copy: its own split)."""
    if not metadata:
        return None
    return str((metadata.get("options") or {}).get("split", RANDOM))
