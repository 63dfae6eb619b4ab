"""Phone names across engines: the CMU (radio) set of flite's and festival's US voices onto the project's sets.

Paper 000's alignments name phonemes as eSpeak NG does (``data/phonemes.json``), paper 001's use ARPAbet
(``crossdistill.data.asr.phones.PHONES``). flite's ``cmu_us_*`` voices and festival's ``radio`` phone set (kal,
ked, slt HTS) share one set: CMUdict's ARPAbet in lower case plus ``ax`` (schwa), ``axr``, the flaps ``dx`` and
``nx``, syllabic ``el``/``em``/``en``, ``hv``, and the pauses ``pau``, ``h#`` and ``brth`` (which carry no
segment). ``CMU_TO_ARPABET`` maps it as CMUdict would write the word; ``CMU_TO_ESPEAK`` maps it to the eSpeak en-us
phoneme with the same ARPAbet mapping (``ESPEAK_TO_ARPABET``), so the two tables agree (a test checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

CMU_TO_ARPABET: dict[str, tuple[str, ...]] = {
    **{phone.lower(): (phone,) for phone in (
        "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH",
        "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH")},
    "ax": ("AH",),  # schwa: CMUdict writes AH0
    "axr": ("ER",),  # r-coloured schwa: ER0
    "dx": ("T",),  # flap, "water": CMUdict writes T (or D)
    "nx": ("N",),  # nasal flap, "winner"
    "el": ("AH", "L"),  # syllabic l, "bottle": AH0 L
    "em": ("AH", "M"),  # syllabic m
    "en": ("AH", "N"),  # syllabic n, "button": AH0 N
    "hv": ("HH",),  # voiced h
}  # fmt: skip

# The eSpeak en-us name for each (see crossdistill.data.asr.phones.ESPEAK_TO_ARPABET for the reverse).
CMU_TO_ESPEAK: dict[str, str] = {
    "aa": "A:", "ae": "a", "ah": "V", "ao": "O:", "aw": "aU", "ay": "aI", "b": "b", "ch": "tS", "d": "d", "dh": "D",
    "eh": "E", "er": "3:", "ey": "eI", "f": "f", "g": "g", "hh": "h", "ih": "I", "iy": "i:", "jh": "dZ", "k": "k",
    "l": "l", "m": "m", "n": "n", "ng": "N", "ow": "oU", "oy": "OI", "p": "p", "r": "r", "s": "s", "sh": "S",
    "t": "t", "th": "T", "uh": "U", "uw": "u:", "v": "v", "w": "w", "y": "j", "z": "z", "zh": "Z",
    "ax": "@", "axr": "3", "dx": "t#", "nx": "n", "el": "@L", "em": "m-", "en": "n-", "hv": "h",
}  # fmt: skip


def _check(phone_set: str, name: str, table: dict) -> None:
    if phone_set != "cmu":
        raise ValueError(f"unknown phone set {phone_set!r} (espeak or cmu)")
    if name not in table:
        raise ValueError(f"phone {name!r} of the CMU set has no mapping; add it to crossdistill/data/engines/phones.py")


def to_espeak_names(phone_set: str, names: Sequence[str]) -> list[str]:
    """Paper 000's labels: eSpeak names stay, CMU-set phones become their eSpeak en-us equivalents."""
    if phone_set == "espeak":
        return list(names)
    for name in names:
        _check(phone_set, name, CMU_TO_ESPEAK)
    return [CMU_TO_ESPEAK[name] for name in names]


def cmu_to_arpabet(name: str) -> tuple[str, ...]:
    """Paper 001's phones of one CMU-set phone (``ValueError`` naming an unknown one)."""
    _check("cmu", name, CMU_TO_ARPABET)
    return CMU_TO_ARPABET[name]
