"""Documents: the unit of the by-document split, as plain paragraphs before normalization."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Document:
    """Running text of one source in one document group.

    ``group`` is what the split assigns as a whole: a Bible book (``bible:Ruth``, shared by the Bible texts
    and the commentaries on it) or a dictionary entry (``devil:abasement``). ``paragraphs`` are plain text.
    """

    source: str
    group: str
    paragraphs: tuple[str, ...]


class DocumentBuilder:
    """Collects paragraphs per group, keeping the order in which groups first appear."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._groups: dict[str, list[str]] = {}

    def add(self, group: str, paragraph: str) -> None:
        self._groups.setdefault(group, []).append(paragraph)

    def documents(self) -> list[Document]:
        return [Document(self.source, group, tuple(p)) for group, p in self._groups.items()]


def write_documents_jsonl(documents: Iterable[Document]) -> str:
    """Return documents as JSON lines: ``{"source", "group", "paragraphs"}`` per line."""
    return "".join(
        json.dumps({"source": d.source, "group": d.group, "paragraphs": list(d.paragraphs)}, ensure_ascii=False) + "\n"
        for d in documents
    )


def read_documents_jsonl(path: str | os.PathLike) -> list[Document]:
    """Read documents written by ``write_documents_jsonl``; errors name the file and line."""
    documents = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            try:
                entry = json.loads(line)
                paragraphs = entry["paragraphs"]
                if not isinstance(paragraphs, list) or not all(isinstance(p, str) for p in paragraphs):
                    raise TypeError("paragraphs must be a list of strings")
                documents.append(Document(str(entry["source"]), str(entry["group"]), tuple(paragraphs)))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{Path(path)}, line {line_no}: malformed document ({error})") from None
    return documents
