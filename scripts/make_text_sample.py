"""Regenerate src/crossdistill/data/asr/sample/documents.jsonl from the installed Debian packages.

The sample: the 23 smallest books of the King James Version (bible-kjv) and the Devil's Dictionary entries
from A to C (dict-devil), both public domain, as raw documents (``Document`` JSON lines, before
normalization). Run: .venv/bin/python scripts/make_text_sample.py
"""

from __future__ import annotations

from crossdistill.common import atomic_write_text
from crossdistill.data.asr.text import SAMPLE_PATH
from crossdistill.data.asr.text_documents import write_documents_jsonl
from crossdistill.data.asr.text_sources import read_devil, read_kjv

KJV_BOOKS = 23


def main() -> None:
    books = sorted(read_kjv(), key=lambda d: (sum(map(len, d.paragraphs)), d.group))[:KJV_BOOKS]
    entries = [d for d in read_devil() if d.group.split(":", 1)[1][:1] in "abc"]
    atomic_write_text(SAMPLE_PATH, write_documents_jsonl([*books, *entries]))
    print(f"{SAMPLE_PATH}: {len(books)} KJV books, {len(entries)} Devil's Dictionary entries")


if __name__ == "__main__":
    main()
