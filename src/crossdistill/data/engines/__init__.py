"""Speech synthesis engines behind one interface, shared by both synthetic corpora.

``ENGINE_NAMES``: ``espeak`` (eSpeak NG, a Python dependency: always there), ``flite`` and ``festival`` (Debian
packages, ``DEBIAN_PACKAGES``, installed by ``scripts/install-system-packages.sh`` where apt is usable). A speaker
is an (engine, voice, variant) triple: eSpeak's voice is a language voice with a variant (``en-us+m3``, drawn
from ``presets.yaml``); flite's and festival's voices have no variants (``VOICES`` of each module).

``resolve_engines`` checks which of the requested engines and voices are installed, skipping each missing one
with one logged note; ``open_engine`` gives this process's instance of an engine (see ``base`` for what
``synthesize`` returns). Corpora made with the default, ``("espeak",)``, are those made before engines existed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from crossdistill.data.engines import espeak, festival, flite
from crossdistill.data.engines.base import Engine, EngineUnavailable

log = logging.getLogger(__name__)

ESPEAK = "espeak"
ENGINE_NAMES = (ESPEAK, flite.NAME, festival.NAME)
DEFAULT_ENGINES = (ESPEAK,)
ALL = "all"
DEBIAN_PACKAGES = (*flite.PACKAGES, *festival.PACKAGES)  # scripts/install-system-packages.sh reads this
_MODULES: dict[str, ModuleType] = {ESPEAK: espeak, flite.NAME: flite, festival.NAME: festival}
SAMPLE_RATES: dict[str, dict[str, int]] = {  # each voice's own output rate (a different one is noted)
    ESPEAK: {"*": 22050},
    flite.NAME: {"kal": 8000, "kal16": 16000, "awb": 16000, "rms": 16000, "slt": 16000},
    festival.NAME: {"kal_diphone": 16000, "ked_diphone": 16000, "cmu_us_slt_arctic_hts": 32000},
}


def parse_engines(value: str | Sequence[str] | None, option: str = "--engines") -> tuple[str, ...]:
    """Engine names from ``espeak,flite``-style text, a sequence, ``all`` or None (the default), in registry order.

    Raises ``ValueError`` naming ``option`` for an unknown or empty list.
    """
    if value is None:
        return DEFAULT_ENGINES
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else [str(n).strip() for n in value]
    names = [n for n in names if n]
    if names == [ALL]:
        return ENGINE_NAMES
    unknown = [n for n in names if n not in ENGINE_NAMES]
    if unknown or not names:
        raise ValueError(
            f"{option} {value!r}: {'unknown engine ' + repr(unknown[0]) if unknown else 'no engine'}; give a comma-"
            f"separated list of {', '.join(ENGINE_NAMES)} or {ALL!r}"
        )
    return tuple(n for n in ENGINE_NAMES if n in names)


@dataclass(frozen=True)
class EngineSelection:
    """The engines a corpus uses and what was skipped.

    Fields:
      requested: the engines asked for (registry order).
      voices: each usable engine's usable voices (eSpeak: empty, its voices come from ``presets.yaml``).
      skipped: ``engine`` or ``engine:voice`` -> why it is not used (not installed).
    """

    requested: tuple[str, ...]
    voices: dict[str, tuple[str, ...]]
    skipped: dict[str, str]

    @property
    def engines(self) -> tuple[str, ...]:
        """The usable engines, in registry order."""
        return tuple(self.voices)

    @property
    def is_default(self) -> bool:
        """True for eSpeak alone (the corpora made before engines existed)."""
        return self.engines == DEFAULT_ENGINES and not self.skipped

    def options(self) -> dict[str, Any]:
        """What a corpus's options record (nothing for the default, so older corpora keep their options): the
        usable engines and voices, so that a corpus made where an engine was missing is not mistaken for one
        made with it."""
        if self.requested == DEFAULT_ENGINES:
            return {}
        return {"engines": {name: list(voices) for name, voices in self.voices.items()}}


def resolve_engines(requested: Sequence[str]) -> EngineSelection:
    """Check which of ``requested`` engines (and their voices) are installed; log one note per skipped one.

    Raises ``ValueError`` when none of them is usable.
    """
    voices: dict[str, tuple[str, ...]] = {}
    skipped: dict[str, str] = {}
    for name in parse_engines(list(requested)):
        if name == ESPEAK:
            voices[name] = ()
            continue
        missing = missing_voices(name)
        usable = tuple(v for v in _MODULES[name].VOICES if v not in missing)
        if not usable:
            skipped[name] = next(iter(missing.values()))
        else:
            voices[name] = usable
            skipped.update({f"{name}:{voice}": why for voice, why in missing.items()})
    for what, why in skipped.items():
        log.warning("synthesis engine %s skipped: %s", what, why)
    if not voices:
        raise ValueError(f"--engines {','.join(requested)}: none is installed ({'; '.join(skipped.values())})")
    return EngineSelection(tuple(requested), voices, skipped)


def missing_voices(name: str) -> dict[str, str]:
    """The voices of engine ``name`` that are not installed here, each with why (eSpeak's: none)."""
    module = _MODULES[name]
    return module.missing_voices(getattr(module, "VOICES", ()))


def installed_engines() -> tuple[str, ...]:
    """The engines with every voice installed here (eSpeak always)."""
    return tuple(name for name in ENGINE_NAMES if not missing_voices(name))


@functools.cache
def open_engine(name: str) -> Engine:
    """This process's instance of engine ``name`` (``EngineUnavailable`` when it is not installed)."""
    if name == ESPEAK:
        return espeak.ESpeakEngine()
    if name == flite.NAME:
        return flite.FliteEngine()
    if name == festival.NAME:
        return festival.FestivalEngine()
    raise EngineUnavailable(f"unknown synthesis engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")


def expected_rate(engine: str, voice: str) -> int | None:
    """The output rate ``voice`` of ``engine`` is known to give (None: not recorded)."""
    rates = SAMPLE_RATES.get(engine, {})
    return rates.get(voice, rates.get("*"))
