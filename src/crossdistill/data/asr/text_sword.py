"""Plain paragraphs from SWORD modules, read through ``mod2imp`` (libsword-utils).

``mod2imp MODULE`` prints the module as ``$$$<key>`` lines, each followed by that entry's OSIS (Bible text,
commentaries) or TEI (dictionaries) markup. We keep the running text: footnotes, cross references, headings
and variant readings go with their content, block elements (paragraphs, lines of a list, table cells, line
breaks) end a paragraph, and other tags are dropped.

Grouping: the entries of a verse-keyed module belong to the book named by their key, except where a
chapter or book milestone inside the markup names another book (the MHCC module repeats later books'
commentary inside earlier entries). A dictionary entry is its own group. Identical paragraphs are kept
once per module, at their first occurrence (MHCC's entries overlap: 410 MB of output, 0.7M distinct words).
"""

from __future__ import annotations

import html
import re
import subprocess
import tempfile
from collections.abc import Iterator

from crossdistill.data.asr.text_books import BY_OSIS_ID, BY_SWORD_NAME, book_group
from crossdistill.data.asr.text_documents import Document, DocumentBuilder

_DROPPED = re.compile(r"<(note|reference|ref|title|rdg|catchWord)\b[^>]*?(?<!/)>.*?</\1>", re.DOTALL)
_BLOCK = re.compile(r"</?(?:div|lb|item|cell|row|p|list|lg|table|entryFree|def)\b[^>]*>|→")
_TAG = re.compile(r"<[^>]*>")
_BOOK_MILESTONE = re.compile(
    r'<chapter\b[^>]*\bosisID="([^".]+)\.\d+"[^>]*\bsID=[^>]*>'
    r'|<div\b[^>]*\bosisID="([^"]+)"[^>]*\bsID="[^"]*"[^>]*type="book"[^>]*>'
)
_VERSE_KEY = re.compile(r"(.+) \d+:\d+")


def run_mod2imp(module: str) -> Iterator[tuple[str, str]]:
    """Yield ``(key, markup)`` of each entry of a SWORD module, in module order.

    mod2imp's complaints go to a temporary file (MHCC makes it print thousands of lines about its index
    while still writing every entry); a failing exit status raises ``RuntimeError`` quoting the last ones.
    """
    with (
        tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errors,
        subprocess.Popen(
            ["mod2imp", module], stdout=subprocess.PIPE, stderr=errors, text=True, encoding="utf-8", errors="replace"
        ) as process,
    ):
        assert process.stdout is not None
        key, body = None, []
        for line in process.stdout:
            if line.startswith("$$$"):
                if key is not None:
                    yield key, "".join(body)
                key, body = line[3:].rstrip("\n"), []
            else:
                body.append(line)
        if key is not None:
            yield key, "".join(body)
        process.wait()
        if process.returncode != 0:
            errors.seek(0)
            tail = " | ".join(errors.read().splitlines()[-3:])
            raise RuntimeError(f"mod2imp {module} failed with exit status {process.returncode}: {tail}")


def _plain_pieces(markup: str) -> Iterator[tuple[str | None, str]]:
    """Yield ``(osis book id or None, text)`` pieces; a piece ends at a block element or a book milestone."""
    markup = _DROPPED.sub(" ", markup)
    position = 0
    for match in _BOOK_MILESTONE.finditer(markup):
        yield None, markup[position : match.start()]
        yield match.group(1) or match.group(2), ""
        position = match.end()
    yield None, markup[position:]


def read_sword_module(source: str, module: str, *, verse_keyed: bool, running_text: bool) -> list[Document]:
    """Return the documents of one SWORD module.

    Args:
      source: our name for the source (group names of dictionary entries start with it).
      module: the SWORD module name (``mod2imp`` argument).
      verse_keyed: entries are keyed by verse (``Genesis 1:1``) and grouped by book; else by entry.
      running_text: a paragraph continues from one entry to the next (Bible text, where a sentence spans
        verses); commentaries and dictionaries end a paragraph with each entry.
    """
    builder = DocumentBuilder(source)
    seen: set[str] = set()
    pending: list[str] = []
    group = ""

    def flush() -> None:
        paragraph = " ".join(" ".join(pending).split())
        pending.clear()
        if paragraph and paragraph not in seen:
            seen.add(paragraph)
            builder.add(group, paragraph)

    for key, markup in run_mod2imp(module):
        if verse_keyed:
            match = _VERSE_KEY.fullmatch(key)
            if match is None:  # module and testament headings
                continue
            name = match.group(1)
            key_group = book_group(BY_SWORD_NAME.get(name, name))
        else:
            key_group = f"{source}:{key}"
        if key_group != group:
            flush()
            group = key_group
        for book, piece in _plain_pieces(markup):
            if book is not None:
                if book in BY_OSIS_ID and book_group(book) != group:
                    flush()
                    group = book_group(book)
                continue
            for index, part in enumerate(_BLOCK.split(piece)):
                if index > 0:
                    flush()
                # Tags again after unescaping: some modules escape stray markup (&lt;/ol&gt;).
                pending.append(_TAG.sub("", html.unescape(_TAG.sub("", part))))
        if not running_text:
            flush()
    flush()
    return builder.documents()
