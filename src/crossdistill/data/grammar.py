"""The command grammar of the synthetic corpus, read from ``grammar.yaml`` (data, not code).

FSC's slot structure: 6 actions, 14 objects, 4 locations (``none`` included), 31 intents; each phrasing
is a transcription that belongs to exactly one intent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

GRAMMAR_FILE = "grammar.yaml"


@dataclass(frozen=True)
class Phrasing:
    """One way of saying an intent: its text (the transcription) and its (action, object, location)."""

    text: str
    intent: tuple[str, str, str]


@dataclass(frozen=True)
class Grammar:
    """All phrasings, in file order (the order is part of what makes synthesis deterministic)."""

    phrasings: tuple[Phrasing, ...]

    @property
    def intents(self) -> tuple[tuple[str, str, str], ...]:
        """Distinct intents in file order."""
        return tuple(dict.fromkeys(p.intent for p in self.phrasings))

    def slot_values(self, slot_index: int) -> tuple[str, ...]:
        """Distinct values of slot ``slot_index`` (0 action, 1 object, 2 location) in file order."""
        return tuple(dict.fromkeys(intent[slot_index] for intent in self.intents))


def load_grammar(path: str | Path | None = None) -> Grammar:
    """Read and validate a grammar file (the shipped ``grammar.yaml`` by default).

    Raises ``ValueError`` naming the file for an entry without its fields, an empty phrasing, or a
    phrasing listed under two intents (or twice).
    """
    if path is None:
        return _shipped_grammar()
    return _parse_grammar(Path(path).read_text(encoding="utf-8"), str(path))


@functools.cache
def _shipped_grammar() -> Grammar:
    text = resources.files("crossdistill.data").joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")
    return _parse_grammar(text, GRAMMAR_FILE)


def _parse_grammar(text: str, source: str) -> Grammar:
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("intents"), list):
        raise ValueError(f"{source}: expected a mapping with an 'intents' list")
    phrasings: list[Phrasing] = []
    owner: dict[str, tuple[str, str, str]] = {}
    for number, entry in enumerate(data["intents"], start=1):
        where = f"{source}: intent entry {number}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping")
        missing = [k for k in ("action", "object", "location", "phrasings") if k not in entry]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        intent = (str(entry["action"]), str(entry["object"]), str(entry["location"]))
        for raw in entry["phrasings"]:
            phrase = " ".join(str(raw).split())
            if not phrase:
                raise ValueError(f"{where} {intent}: empty phrasing")
            key = phrase.lower()
            if key in owner:
                raise ValueError(f"{where}: phrasing {phrase!r} also belongs to intent {owner[key]}")
            owner[key] = intent
            phrasings.append(Phrasing(text=phrase, intent=intent))
    if not phrasings:
        raise ValueError(f"{source}: no phrasings")
    return Grammar(phrasings=tuple(phrasings))
