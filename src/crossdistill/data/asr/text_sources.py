"""The public-domain text sources installable from Debian, and how each is read into documents.

Each source names the Debian packages it needs (``scripts/install-system-packages.sh`` installs them all);
``check_installed`` fails with the package and the command that installs it before any work starts.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crossdistill.data.asr.text_books import BY_KJV_PREFIX, book_group
from crossdistill.data.asr.text_documents import Document, DocumentBuilder
from crossdistill.data.asr.text_sword import read_sword_module

INSTALL_COMMAND = (
    "sudo apt-get install --no-install-recommends {packages}  (or run scripts/install-system-packages.sh as root)"
)
DICTD_DIR = Path("/usr/share/dictd")
_DEVIL_HEADWORD = re.compile(r"^[A-Z][^,]*,\s+(?:[a-z]+\.)+\s*")


@dataclass(frozen=True)
class TextSource:
    """A Debian text source: its packages, licence (from /usr/share/doc/<package>/copyright) and reader."""

    name: str
    title: str
    packages: tuple[str, ...]
    licence: str
    read: Callable[[], list[Document]]


def read_kjv() -> list[Document]:
    """The King James Version through bible-kjv's ``bible`` (one ``Ge1:1 text`` line per verse), by book."""
    result = subprocess.run(
        ["bible", "-f", "gen1:1-rev22:21"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    builder = DocumentBuilder("kjv")
    for line_no, line in enumerate(result.stdout.splitlines(), start=1):
        reference, _, text = line.partition(" ")
        prefix = reference.rstrip("0123456789:")
        if prefix not in BY_KJV_PREFIX:
            raise ValueError(f"bible output line {line_no}: unknown book reference {reference!r}")
        builder.add(book_group(BY_KJV_PREFIX[prefix]), text)
    # Verses of a chapter are one running text: sentences run across verses.
    return [Document(d.source, d.group, (" ".join(d.paragraphs),)) for d in builder.documents()]


def _decode_base64_number(text: str) -> int:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    value = 0
    for char in text:
        value = value * 64 + alphabet.index(char)
    return value


def read_dictd(source: str, name: str, skip_lines: int) -> list[Document]:
    """Read a dictd dictionary (``.index`` + ``.dict.dz``): one document per entry, paragraphs at blank lines.

    ``skip_lines`` is how many lines open each entry (headword, pronunciation) before its text. Lines
    indented by 20 or more spaces (right-aligned attributions) and URLs are dropped; ``{braces}`` (jargon's
    cross references) lose their braces.
    """
    data = gzip.decompress((DICTD_DIR / f"{name}.dict.dz").read_bytes())
    builder = DocumentBuilder(source)
    with open(DICTD_DIR / f"{name}.index", encoding="utf-8") as handle:
        for line in handle:
            headword, offset, length = line.rstrip("\n").split("\t")
            if headword.startswith("00database") or headword.startswith("00-database"):
                continue
            start = _decode_base64_number(offset)
            entry = data[start : start + _decode_base64_number(length)].decode("utf-8", errors="replace")
            lines = entry.split("\n")[skip_lines:]
            kept = [ln for ln in lines if not ln.startswith(" " * 20) and "://" not in ln]
            text = "\n".join(kept).replace("{", "").replace("}", "")
            for paragraph in text.split("\n\n"):
                if paragraph.strip():
                    builder.add(f"{source}:{headword}", " ".join(paragraph.split()))
    return builder.documents()


def read_devil() -> list[Document]:
    """The Devil's Dictionary: each entry opens ``HEADWORD, n.``; that opening is dropped."""
    documents = read_dictd("devil", "devil", skip_lines=0)
    return [Document(d.source, d.group, (_drop_headword(d.paragraphs[0]), *d.paragraphs[1:])) for d in documents]


def _drop_headword(paragraph: str) -> str:
    # "ABASEMENT, n. A decent ..." -> "A decent ..." (the part of speech: "n.", "adj.", "v.t.").
    return _DEVIL_HEADWORD.sub("", paragraph, count=1)


SOURCES: tuple[TextSource, ...] = (
    TextSource(
        "kjv",
        "King James Version (1611)",
        ("bible-kjv", "bible-kjv-text"),
        "public domain (copyright expired; /usr/share/doc/bible-kjv-text/copyright)",
        read_kjv,
    ),
    TextSource(
        "web",
        "World English Bible",
        ("sword-text-web", "libsword-utils"),
        "public domain (dedicated by its translators; the name is a trademark of eBible.org)",
        lambda: read_sword_module("web", "engWEB2015eb", verse_keyed=True, running_text=True),
    ),
    TextSource(
        "tdavid",
        "C. H. Spurgeon, The Treasury of David (1885)",
        ("sword-comm-tdavid", "libsword-utils"),
        "public domain",
        lambda: read_sword_module("tdavid", "TDavid", verse_keyed=True, running_text=False),
    ),
    TextSource(
        "mhcc",
        "Matthew Henry's Concise Commentary",
        ("sword-comm-mhcc", "libsword-utils"),
        "public domain",
        lambda: read_sword_module("mhcc", "MHCC", verse_keyed=True, running_text=False),
    ),
    TextSource(
        "scofield",
        "Scofield Reference Notes (1917)",
        ("sword-comm-scofield", "libsword-utils"),
        "public domain",
        lambda: read_sword_module("scofield", "Scofield", verse_keyed=True, running_text=False),
    ),
    TextSource(
        "nave",
        "Nave's Topical Bible",
        ("sword-dict-naves", "libsword-utils"),
        "public domain",
        lambda: read_sword_module("nave", "Nave", verse_keyed=False, running_text=False),
    ),
    TextSource(
        "devil",
        "Ambrose Bierce, The Devil's Dictionary (1911)",
        ("dict-devil",),
        "public domain (copyright expired)",
        read_devil,
    ),
    TextSource(
        "jargon",
        "The Jargon File 4.4.7",
        ("dict-jargon",),
        "public domain",
        lambda: read_dictd("jargon", "jargon", skip_lines=2),
    ),
)
PACKAGES: tuple[str, ...] = tuple(dict.fromkeys(p for s in SOURCES for p in s.packages))


def package_version(package: str) -> str | None:
    """Return the installed version of a Debian package, or None when it is not installed (or no dpkg)."""
    if shutil.which("dpkg-query") is None:
        return None
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    status, _, version = result.stdout.partition(" ")
    return version.strip() if result.returncode == 0 and status.startswith("ii") else None


def check_installed(sources: tuple[TextSource, ...] = SOURCES) -> dict[str, str]:
    """Return ``{package: version}`` for the sources' packages; raise naming any missing one and the fix."""
    versions = {p: package_version(p) for s in sources for p in s.packages}
    missing = [p for p, v in versions.items() if v is None]
    if missing:
        needed_by = sorted({s.name for s in sources for p in s.packages if p in missing})
        raise FileNotFoundError(
            f"the Debian package(s) {', '.join(missing)} are not installed (needed by text source(s) "
            f"{', '.join(needed_by)}); install them with: {INSTALL_COMMAND.format(packages=' '.join(missing))}"
        )
    return {p: v for p, v in versions.items() if v is not None}
