"""Paper 001's text: LM training text and the sentences the acoustic-model corpus is synthesized from.

``load_text_splits(source, seed)`` reads a text source into documents, normalizes them like LibriSpeech's
LM corpus (``text_normalize``) and splits them **by document group** into five parts:

- ``lm_train`` / ``lm_valid``: LM text (``lm_valid`` from groups of its own, for checkpoint selection);
- ``am_train`` / ``am_dev`` / ``am_test``: sentences of 4-25 words for the synthesized speech corpus.

A group (a Bible book with all its commentary, or one dictionary entry) goes to one part whole, so no
dev/test document is in the LM text (LibriSpeech leaves its dev/test books out of its LM corpus the same
way). On top, every sentence is kept once, in the first part of am_test, am_dev, lm_valid, am_train,
lm_train that holds it: a dev/test sentence that also occurs in another group's text is removed from there.

Sources: ``sample`` (a small public-domain sample shipped in the package, for tests and the ``tiny`` corpus;
see ``sample/README.md``) and ``debian`` (the installed Debian packages of ``text_sources``; normalized
documents are cached under ``<cache>/asr-text``, keyed by the package versions and this code).
"""

from __future__ import annotations

import gzip
import json
import os
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

from tqdm.auto import tqdm

from crossdistill.common import atomic_path, fingerprint, fingerprint_file
from crossdistill.data.asr import text_books, text_documents, text_normalize, text_sources, text_sword
from crossdistill.data.asr.text_documents import Document, read_documents_jsonl
from crossdistill.data.asr.text_normalize import normalize_paragraph

SAMPLE_PATH = Path(__file__).parent / "sample" / "documents.jsonl"
SAMPLE_SOURCES = {
    "kjv": "public domain (King James Version, 1611, copyright expired)",
    "devil": "public domain (Ambrose Bierce, The Devil's Dictionary, 1911, copyright expired)",
}
SPLITS = ("lm_train", "lm_valid", "am_train", "am_dev", "am_test")
AM_WORDS = (4, 25)  # inclusive (min, max) words of an AM sentence by default
# Held-out parts are filled first and win duplicated sentences (see the module docstring).
_PRIORITY = ("am_test", "am_dev", "lm_valid", "am_train", "lm_train")
_CODE = (text_books, text_documents, text_normalize, text_sources, text_sword)


@dataclass(frozen=True)
class SplitFractions:
    """Share of all normalized words whose groups go to each held-out part; the rest is ``lm_train``."""

    lm_valid: float = 0.01
    am_train: float = 0.06
    am_dev: float = 0.005
    am_test: float = 0.005

    def __post_init__(self) -> None:
        values = (self.lm_valid, self.am_train, self.am_dev, self.am_test)
        if any(not 0 < v < 1 for v in values) or sum(values) >= 1:
            raise ValueError(f"split fractions must lie in (0, 1) and sum to less than 1, got {self}")


# The sample is small, so its AM parts take a larger share (enough sentences for the tiny corpus).
DEFAULT_FRACTIONS = {
    "sample": SplitFractions(lm_valid=0.05, am_train=0.3, am_dev=0.05, am_test=0.05),
    "debian": SplitFractions(),
}


@dataclass(frozen=True)
class NormalizedDocument:
    """One source's normalized sentences in one document group."""

    source: str
    group: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class TextSplits:
    """The five parts (lists of normalized sentences), which groups each came from, and the sources.

    ``sources``: one dict per source: ``name``, ``title``, ``licence``, ``documents`` (its groups) and
    ``words`` (its normalized words before deduplication). ``key`` fingerprints the text, options and seed.
    """

    lm_train: list[str]
    lm_valid: list[str]
    am_train: list[str]
    am_dev: list[str]
    am_test: list[str]
    groups: dict[str, tuple[str, ...]]
    sources: list[dict]
    key: str = field(default="")


def normalize_documents(documents: Iterable[Document], progress: bool = False) -> list[NormalizedDocument]:
    """Normalize every paragraph of every document (documents left without a sentence are dropped)."""
    result = []
    for document in tqdm(list(documents), desc="normalize", unit="doc", disable=not progress, leave=False):
        sentences = tuple(s for p in document.paragraphs for s in normalize_paragraph(p))
        if sentences:
            result.append(NormalizedDocument(document.source, document.group, sentences))
    return result


def assign_groups(group_words: dict[str, int], fractions: SplitFractions, seed: int) -> dict[str, str]:
    """Return ``{group: part}``: groups in seeded random order fill each held-out part up to its word share.

    Each held-out part takes, in turn, every remaining group that still fits under its target (so one huge
    group never swamps a small part), and at least the smallest remaining group; the rest is ``lm_train``. A part
    leaves at least one group for each part after it and for ``lm_train`` (on a text of few groups, a part whose
    target fits many small groups would otherwise take them all).
    """
    order = sorted(group_words)
    random.Random(seed).shuffle(order)
    total = sum(group_words.values())
    if len(order) < len(SPLITS):
        raise ValueError(f"{len(order)} document groups cannot fill {len(SPLITS)} parts")
    assignment: dict[str, str] = {}
    for rank, part in enumerate(_PRIORITY[:-1]):
        target, filled = getattr(fractions, part) * total, 0
        reserved = len(_PRIORITY) - 1 - rank  # one group for each later part, lm_train included
        for group in order:
            if len(order) - len(assignment) <= reserved:
                break
            if group not in assignment and filled + group_words[group] <= target:
                assignment[group] = part
                filled += group_words[group]
        if filled == 0:
            smallest = min((g for g in order if g not in assignment), key=lambda g: (group_words[g], g))
            assignment[smallest] = part
    if len(assignment) == len(order):
        raise ValueError("no document group is left for lm_train; lower the split fractions")
    return {group: assignment.get(group, "lm_train") for group in order}


def split_documents(
    documents: Sequence[NormalizedDocument],
    seed: int,
    fractions: SplitFractions,
    am_words: tuple[int, int] = AM_WORDS,
    min_lm_words: int = 2,
) -> tuple[dict[str, list[str]], dict[str, tuple[str, ...]]]:
    """Split normalized documents by group (see the module docstring); return parts and their groups."""
    group_words: dict[str, int] = {}
    for document in documents:
        words = sum(len(s.split()) for s in document.sentences)
        group_words[document.group] = group_words.get(document.group, 0) + words
    assignment = assign_groups(group_words, fractions, seed)
    parts: dict[str, list[str]] = {part: [] for part in SPLITS}
    seen: set[str] = set()
    for part in _PRIORITY:
        lo, hi = am_words if part.startswith("am_") else (min_lm_words, 1 << 30)
        for document in documents:
            if assignment[document.group] != part:
                continue
            for sentence in document.sentences:
                if sentence not in seen and lo <= sentence.count(" ") + 1 <= hi:
                    seen.add(sentence)
                    parts[part].append(sentence)
    groups = {part: tuple(sorted(g for g, p in assignment.items() if p == part)) for part in SPLITS}
    return parts, groups


def _source_summaries(documents: Sequence[NormalizedDocument], licences: dict[str, tuple[str, str]]) -> list[dict]:
    summaries = []
    for name, (title, licence) in licences.items():
        own = [d for d in documents if d.source == name]
        words = sum(len(s.split()) for d in own for s in d.sentences)
        summaries.append({"name": name, "title": title, "licence": licence, "documents": len(own), "words": words})
    return summaries


def _load_sample() -> tuple[list[NormalizedDocument], dict[str, tuple[str, str]], dict]:
    documents = normalize_documents(read_documents_jsonl(SAMPLE_PATH))
    licences = {name: (f"sample of {name}", licence) for name, licence in SAMPLE_SOURCES.items()}
    return documents, licences, {"sample": fingerprint_file(SAMPLE_PATH)}


def _cache_key(versions: dict[str, str]) -> str:
    code = {module.__name__: fingerprint_file(module.__file__) for module in _CODE}
    return fingerprint({"packages": versions, "code": code, "num2words": version("num2words")})


def _load_debian(cache_dir: str | os.PathLike | None, progress: bool) -> tuple[list, dict, dict]:
    versions = text_sources.check_installed()
    key = _cache_key(versions)
    if cache_dir is None:
        from crossdistill.data.features import default_cache_dir  # torch-heavy module: import only when needed

        cache_dir = default_cache_dir()
    path = Path(cache_dir) / "asr-text" / f"debian-{key}.jsonl.gz"
    licences = {s.name: (s.title, s.licence) for s in text_sources.SOURCES}
    if path.is_file():
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            documents = [
                NormalizedDocument(e["source"], e["group"], tuple(e["sentences"])) for e in map(json.loads, handle)
            ]
        return documents, licences, {"debian": key}
    documents = []
    for source in tqdm(text_sources.SOURCES, desc="read text sources", disable=not progress):
        documents.extend(normalize_documents(source.read(), progress))
    with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8") as handle:
        for d in documents:
            handle.write(json.dumps({"source": d.source, "group": d.group, "sentences": list(d.sentences)}) + "\n")
    return documents, licences, {"debian": key}


def load_text_splits(
    source: str = "sample",
    seed: int = 0,
    *,
    fractions: SplitFractions | None = None,
    am_words: tuple[int, int] = AM_WORDS,
    min_lm_words: int = 2,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> TextSplits:
    """Read, normalize and split a text source (``sample`` or ``debian``); deterministic given ``seed``.

    Args:
      fractions: word shares of the held-out parts (``DEFAULT_FRACTIONS[source]`` by default).
      am_words: inclusive (min, max) words of an AM sentence.
      min_lm_words: shorter LM sentences (headings, list numbers) are dropped.
      cache_dir: root of the normalized-text cache (``$CROSSDISTILL_CACHE`` or ``~/.cache/crossdistill``).
    """
    if source not in DEFAULT_FRACTIONS:
        raise ValueError(f"unknown text source {source!r}; choose one of {', '.join(DEFAULT_FRACTIONS)}")
    fractions = fractions or DEFAULT_FRACTIONS[source]
    if not 1 <= am_words[0] <= am_words[1]:
        raise ValueError(f"am_words must be (min, max) with 1 <= min <= max, got {am_words}")
    if source == "sample":
        documents, licences, inputs = _load_sample()
    else:
        documents, licences, inputs = _load_debian(cache_dir, progress)
    parts, groups = split_documents(documents, seed, fractions, am_words, min_lm_words)
    options = {"seed": seed, "fractions": vars(fractions), "am_words": list(am_words), "min_lm_words": min_lm_words}
    return TextSplits(
        **parts,
        groups=groups,
        sources=_source_summaries(documents, licences),
        key=fingerprint({"source": source, "inputs": inputs, "options": options}),
    )


def words_by_frequency(sentences: Iterable[str]) -> list[str]:
    """Every word of ``sentences``, most frequent first, ties broken alphabetically."""
    counts = Counter(word for sentence in sentences for word in sentence.split())
    return sorted(counts, key=lambda word: (-counts[word], word))


def restrict_to_vocabulary(text: TextSplits, size: int) -> TextSplits:
    """Keep only the AM sentences whose every word is among the ``size`` most frequent words of ``lm_train``.

    A closed-vocabulary task in the manner of WSJ's 5k and 20k subsets, scaled to our tiny corpora: a model with
    no lexicon (paper 001's seq2seq model) must learn every word's spelling from the AM sentences, which an hour
    of open-vocabulary speech cannot teach (docs/asr.md, Fig. 3 calibration). The LM text is left whole (the LM
    teachers still read open-vocabulary text); ties in frequency are broken alphabetically.
    """
    if size < 1:
        raise ValueError(f"closed vocabulary size must be >= 1, got {size}")
    vocabulary = set(words_by_frequency(text.lm_train)[:size])
    kept = {
        part: [s for s in getattr(text, part) if all(w in vocabulary for w in s.split())]
        for part in ("am_train", "am_dev", "am_test")
    }
    for part, sentences in kept.items():
        if not sentences:
            raise ValueError(f"no {part} sentence uses only the {size} most frequent LM words; raise the vocabulary")
    return replace(text, **kept, key=fingerprint({"text": text.key, "closed_vocabulary": size}))
