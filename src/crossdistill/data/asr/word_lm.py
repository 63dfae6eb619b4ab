"""The trigram word LM of hybrid decoding: an ARPA file built from the corpus's LM text with KenLM's ``lmplz``.

Paper 001 decodes its hybrid system with a lexicon and a trigram word LM. We build it with KenLM's ``lmplz``
(modified Kneser-Ney) and convert it with ``build_binary`` (KenLM's binary format loads in milliseconds where a
large ARPA takes seconds; both hold the same model). Neither ships as a Debian or PyPI binary, so ``make install``
builds both from the kenlm source release (``scripts/build-kenlm.sh``, run by
``scripts/install-system-packages.sh``: cmake + Debian's Boost dev packages, about 2.5 min on 2 busy cores) into the
virtual environment's ``bin/``. ``find_kenlm_tool`` looks there and on ``PATH``.

Pruning (``WordLmOptions.prune``): lmplz's count thresholds per order; the default ``0 1 1`` drops bigrams and
trigrams seen once, which shrinks the model several times and keeps decoding and loading within the 2-core budget
(docs/asr.md has the measured sizes). ``--discount_fallback`` lets a small text (the ``tiny`` corpus) get
Kneser-Ney discounts where the closed-form estimate fails for lack of singletons or doubletons.

Cache: ``<cache_dir>/asr-word-lm/<key>/lm.arpa`` (+ ``lm.bin``, ``lm.json`` written last, marking it complete),
``key`` = hash of the text's bytes and the options; each file is written atomically, so a killed build leaves no
file a later run would trust.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from crossdistill.common import atomic_path, atomic_write_text, fingerprint, fingerprint_file

CACHE_FORMAT_VERSION = 1
CACHE_SUBDIR = "asr-word-lm"
ARPA_FILE = "lm.arpa"
BINARY_FILE = "lm.bin"
SUMMARY_FILE = "lm.json"
# Debian packages that building lmplz and build_binary from the kenlm source release needs (scripts/build-kenlm.sh).
KENLM_BUILD_PACKAGES: tuple[str, ...] = (
    "cmake", "make", "g++", "libboost-program-options-dev", "libboost-system-dev", "libboost-thread-dev",
    "libboost-test-dev", "zlib1g-dev", "libbz2-dev", "liblzma-dev",
)  # fmt: skip
KENLM_SOURCE = "kenlm==0.3.0"  # the PyPI source release: it ships lmplz's sources (lm/builder) and CMakeLists.txt
INSTALL_HINT = (
    "run `make install` as root (scripts/install-system-packages.sh installs cmake and the Boost dev packages, then "
    "scripts/build-kenlm.sh builds lmplz and build_binary from the kenlm source release into the virtual "
    "environment's bin/), or run scripts/build-kenlm.sh .venv/bin/python where those packages are installed, or put "
    "KenLM's binaries on PATH"
)


class MissingToolError(FileNotFoundError):
    """A KenLM program is not installed; the message names it and the install command."""


@dataclass(frozen=True)
class WordLmOptions:
    """How the word LM is estimated.

    Fields:
      order: n-gram order (3: paper 001's trigram).
      prune: lmplz ``--prune`` count thresholds, one per order (n-grams seen at most that often are dropped; the
        unigram threshold must be 0).
      memory: lmplz's sorting memory (``-S``); it changes nothing in the result, only the machine's load.
    """

    order: int = 3
    prune: tuple[int, ...] = (0, 1, 1)
    memory: str = "256M"

    def check(self) -> None:
        if not 1 <= self.order <= 6:
            raise ValueError(f"word LM order must be 1..6 (KenLM's maximum), got {self.order}")
        if len(self.prune) != self.order or any(p < 0 for p in self.prune) or self.prune[0] != 0:
            raise ValueError(
                f"word LM prune thresholds must be {self.order} non-negative counts starting with 0, got {self.prune}"
            )
        if any(a > b for a, b in zip(self.prune, self.prune[1:], strict=False)):
            raise ValueError(f"word LM prune thresholds must not decrease with the order (lmplz), got {self.prune}")

    def identity(self) -> dict:
        """What determines the model (memory does not)."""
        return {"order": self.order, "prune": list(self.prune), "discount_fallback": True}


@dataclass(frozen=True)
class WordLm:
    """A built word LM: ``path`` is what a decoder loads (the binary when there is one, else the ARPA)."""

    folder: Path
    arpa: Path
    binary: Path | None
    summary: dict

    @property
    def path(self) -> Path:
        return self.binary or self.arpa


def find_kenlm_tool(name: str) -> Path:
    """The path of KenLM program ``name`` (``lmplz``, ``build_binary``): the virtual environment's bin/, then PATH."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return beside_python
    found = shutil.which(name)
    if found:
        return Path(found)
    raise MissingToolError(
        f"KenLM's {name} is not installed (looked in {beside_python.parent} and on PATH): {INSTALL_HINT}"
    )


def kenlm_available() -> bool:
    """Whether ``lmplz`` and ``build_binary`` are installed (tests that need them skip otherwise)."""
    try:
        find_kenlm_tool("lmplz")
        find_kenlm_tool("build_binary")
    except MissingToolError:
        return False
    return True


def word_lm_key(text: str | os.PathLike, options: WordLmOptions) -> str:
    """The cache key: the text's bytes and the options that shape the model."""
    return fingerprint({"format": CACHE_FORMAT_VERSION, "text": fingerprint_file(text), **options.identity()})


def build_word_lm(
    text: str | os.PathLike,
    options: WordLmOptions | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> WordLm:
    """Return the word LM of ``text`` (one normalized sentence per line), building and caching it if needed.

    Raises ``FileNotFoundError`` for a missing or empty text, ``MissingToolError`` naming the program and the install
    command when KenLM is not installed (before anything is written), ``RuntimeError`` with lmplz's message when it
    fails.
    """
    options = options or WordLmOptions()
    options.check()
    text = Path(text)
    if not text.is_file():
        raise FileNotFoundError(f"LM text {text} does not exist")
    with open(text, encoding="utf-8") as handle:
        if not any(line.strip() for line in handle):
            raise ValueError(f"LM text {text} holds no words")
    lmplz, build_binary = find_kenlm_tool("lmplz"), find_kenlm_tool("build_binary")
    from crossdistill.data.features import default_cache_dir

    key = word_lm_key(text, options)
    folder = Path(cache_dir or default_cache_dir()) / CACHE_SUBDIR / key
    existing = load_word_lm(folder)
    if existing is not None:
        return existing
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lmplz-", dir=folder) as scratch, atomic_path(folder / ARPA_FILE) as arpa:
        command = [str(lmplz), "-o", str(options.order), "--prune", *map(str, options.prune), "--discount_fallback"]
        command += ["-S", options.memory, "-T", scratch + "/", "--text", str(text), "--arpa", str(arpa)]
        _run(command, "lmplz")
    lmplz_seconds = time.perf_counter() - started
    with atomic_path(folder / BINARY_FILE) as binary:
        _run([str(build_binary), str(folder / ARPA_FILE), str(binary)], "build_binary")
    summary = {
        "key": key,
        "text": str(text.absolute()),
        "text_fingerprint": fingerprint_file(text),
        "options": {**asdict(options), "prune": list(options.prune)},
        "ngrams": read_arpa_counts(folder / ARPA_FILE),
        "arpa_bytes": (folder / ARPA_FILE).stat().st_size,
        "binary_bytes": (folder / BINARY_FILE).stat().st_size,
        "lmplz_seconds": round(lmplz_seconds, 3),
        "build_seconds": round(time.perf_counter() - started, 3),
    }
    atomic_write_text(folder / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return WordLm(folder, folder / ARPA_FILE, folder / BINARY_FILE, summary)


def load_word_lm(folder: str | os.PathLike) -> WordLm | None:
    """A complete cached LM in ``folder`` (its summary written last), or None."""
    folder = Path(folder)
    summary_path = folder / SUMMARY_FILE
    if not summary_path.is_file():
        return None
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    binary = folder / BINARY_FILE
    return WordLm(folder, folder / ARPA_FILE, binary if binary.is_file() else None, summary)


def read_arpa_counts(path: str | os.PathLike) -> dict[str, int]:
    """The ``ngram N=count`` lines of an ARPA header as ``{"1": count, ...}``; ``ValueError`` if there are none."""
    counts: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("ngram ") and "=" in line:
                order, _, count = line[len("ngram ") :].partition("=")
                counts[order.strip()] = int(count)
            elif line.startswith("\\1-grams:"):
                break
    if not counts:
        raise ValueError(f"{path}: not an ARPA file (no `ngram N=count` header lines)")
    return counts


def _run(command: list[str], name: str) -> None:
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise RuntimeError(f"{name} failed (exit {result.returncode}): {' '.join(command)}\n{tail}")
