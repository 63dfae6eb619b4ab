"""The phone set of paper 001's units, and the table that maps eSpeak NG's en-us phonemes onto it.

``PHONES`` is the 39 stressless ARPAbet monophones of CMUdict plus ``SIL`` (silence) and ``SPN`` (spoken
noise / out-of-vocabulary, as in Kaldi's LibriSpeech recipe): 41 phones, paper 001's monophone count. A
phone's id is its index in ``PHONES``.

One table serves both the lexicon (``g2p``, words said alone through ``espeak_TextToPhonemes``) and the
alignments (PHONEME events of synthesis), so the lexicon and the synthesized audio agree. The eSpeak
names were collected empirically: every name ``espeak_TextToPhonemes`` gives for the 124,926 alphabetic
CMUdict words and every name in the PHONEME events of synthesized sentences, plus the remaining names of
eSpeak's ``en`` and ``en-us`` phoneme tables (read from ``phontab``), which other English voices use
(docs/asr-text.md lists the table with examples).

Only pauses map to no phone. Every other eSpeak phoneme maps to one to three phones, so every
non-silent stretch of audio has a phone: the linking ``r-`` maps to ``R`` and the glide ``;`` (the
[j]-like transition in "the hour", "Israel") to ``Y``, where CMUdict writes nothing.

In context (``espeak_sequence_to_arpabet``, which the lexicon and the alignments both use) one rule
applies: eSpeak writes an ``r`` after r-coloured vowels that already end in R or ER (``g l o@ r i``
"glory", ``dZ 3 r u: s`` "Jerusalem", and across words "four of" ``f o@ r V v``); that ``r`` adds no
phone (GLORY is G L AO R IY as in CMUdict, not G L AO R R IY) and its time belongs to the vowel before.
(eSpeak says "four rows" with one r too, ``f o@ r oU z``, so there the audio has one R where the words'
lexicon entries have two.)
"""

from __future__ import annotations

from collections.abc import Sequence

from crossdistill.data.alignments import is_pause

ARPABET: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY",
    "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y",
    "Z", "ZH",
)  # fmt: skip
SILENCE = "SIL"
SPOKEN_NOISE = "SPN"
PHONES: tuple[str, ...] = (*ARPABET, SILENCE, SPOKEN_NOISE)
PHONE_IDS: dict[str, int] = {phone: index for index, phone in enumerate(PHONES)}

# eSpeak NG en-us phoneme name (stress marks stripped) -> ARPAbet phones. Comments give an example word.
ESPEAK_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # Vowels and diphthongs.
    "a": ("AE",),  # trap
    "aa": ("AE",),  # bath (en-us says it as trap)
    "a#": ("AH",),  # abate, unstressed a
    "a2": ("AH",),  # reduced a (en table)
    "a#2": ("AH",),  # reduced a (en table)
    "A:": ("AA",),  # father, calm
    "A#": ("AE",),  # bath variant (en table; en-us has no trap-bath split)
    "A@": ("AA", "R"),  # start
    "A~": ("AA",),  # blanc, croissant (French nasal)
    "0": ("AA",),  # lot, got
    "0#": ("AA",),  # lot variant (en table)
    "02": ("AA",),  # lot variant (en-us table)
    "O": ("AO",),  # alternator
    "O:": ("AO",),  # thought, law
    "O2": ("AO",),  # cloth, orange
    "O@": ("AO", "R"),  # north, lord
    "o@": ("AO", "R"),  # force, more
    "O~": ("AA",),  # denouement (French nasal)
    "o": ("OW",),  # tolkien (base table)
    "o:": ("AO",),  # long o (en table)
    "oU": ("OW",),  # goat
    "oU#": ("OW",),  # goat variant (en table)
    "V": ("AH",),  # strut
    "VR": ("ER",),  # absurd in en-gb-scotland (en table)
    "3": ("ER",),  # letter, unstressed
    "3:": ("ER",),  # nurse, bird
    "@": ("AH",),  # comma, schwa
    "@-": ("AH",),  # additional, short schwa
    "@2": ("AH",),  # the
    "@5": ("AH",),  # reduced to (en table)
    "@#": ("AH",),  # schwa variant (en table)
    "@L": ("AH", "L"),  # bible, syllabic l
    "E": ("EH",),  # dress
    "E#": ("EH",),  # dress variant (en table)
    "E2": ("EH",),  # dress variant (en table)
    "e": ("EY",),  # close e (base table)
    "e:": ("EY",),  # long e (en table)
    "e#": ("EH",),  # e variant (en table)
    "e@": ("EH", "R"),  # square, there
    "eI": ("EY",),  # face
    "I": ("IH",),  # kit
    "I#": ("IH",),  # moses, unstressed i
    "I2": ("IH",),  # unstressed i
    "I2#": ("IH",),  # unstressed i variant
    "IR": ("ER",),  # affirm in en-gb-scotland (en table)
    "i": ("IY",),  # happy
    "i:": ("IY",),  # fleece
    "i@": ("IY", "AH"),  # lithium
    "i@3": ("IH", "R"),  # near, hear
    "U": ("UH",),  # foot
    "U@": ("UH", "R"),  # cure, tour
    "u": ("UW",),  # close u (base table)
    "u:": ("UW",),  # goose
    "aI": ("AY",),  # price
    "aI@": ("AY", "AH"),  # pariah, aisle
    "aI3": ("AY", "ER"),  # fire, iron
    "aI2": ("AY",),  # by, my in en-gb-scotland (the short price vowel of the Scottish vowel-length rule)
    "aU": ("AW",),  # mouth
    "aU@": ("AW", "ER"),  # hour (en table)
    "OI": ("OY",),  # choice
    # Syllabic consonants: a schwa and the consonant, as CMUdict writes them (button B AH T AH N).
    "n-": ("AH", "N"),
    "m-": ("AH", "M"),
    "l-": ("AH", "L"),
    "N-": ("AH", "NG"),
    # Consonants.
    "p": ("P",),
    "b": ("B",),
    "t": ("T",),
    "t#": ("T",),  # flap, water
    "t2": ("T",),  # unto, absentia
    "t[": ("TH",),  # thin, truth in en-029: the dental stop Caribbean English says for /th/, which CMUdict writes TH
    "d": ("D",),
    "d#": ("D",),  # d variant (en table)
    "?": ("T",),  # glottal stop, button (CMUdict writes T)
    "k": ("K",),
    "g": ("G",),
    "x": ("K",),  # bach (CMUdict writes K)
    "f": ("F",),
    "v": ("V",),
    "T": ("TH",),
    "D": ("DH",),
    "s": ("S",),
    "z": ("Z",),
    "z#": ("Z",),  # z variant (en table)
    "z/2": ("Z",),  # z variant (en table)
    "S": ("SH",),
    "Z": ("ZH",),
    "h": ("HH",),
    "tS": ("CH",),
    "dZ": ("JH",),
    "m": ("M",),
    "n": ("N",),
    "N": ("NG",),
    "l": ("L",),
    "l#": ("L",),  # llana (Welsh ll)
    "l/": ("L",),  # l variant (base table)
    "r": ("R",),
    "r/": ("R",),  # r variant (en-us table)
    "r-": ("R",),  # linking r: filtering, acreage
    "w": ("W",),
    "w#": ("W",),  # buckwheat in en-gb-scotland (en table)
    "j": ("Y",),
    ";": ("Y",),  # glide between a front vowel and the next vowel: the hour, israel
}

_UNKNOWN_HELP = "add it to ESPEAK_TO_ARPABET in crossdistill/data/asr/phones.py (see docs/asr-text.md)"


def espeak_to_arpabet(name: str) -> tuple[str, ...]:
    """Return the ARPAbet phones of one eSpeak NG en-us phoneme (stress marks already stripped).

    A pause (``_``, ``_:``, ``_!`` ...) maps to ``()``; a name with eSpeak's length mark ``:`` appended to a
    known one (``a:`` for ``a``) maps like that one. An unknown name raises ``ValueError`` naming it.
    """
    if is_pause(name) or name == "||":
        return ()
    if name in ESPEAK_TO_ARPABET:
        return ESPEAK_TO_ARPABET[name]
    # A trailing ":" is eSpeak's length mark on a repeated letter ("baaaz": b 'a: a#: z); the phone is the same.
    base = name
    while base.endswith(":"):
        base = base[:-1]
        if base in ESPEAK_TO_ARPABET:
            return ESPEAK_TO_ARPABET[base]
    raise ValueError(f"eSpeak phoneme {name!r} has no ARPAbet mapping; {_UNKNOWN_HELP}")


def espeak_sequence_to_arpabet(names: Sequence[str]) -> list[tuple[str, ...]]:
    """Map a sequence of eSpeak phonemes (one word, or an utterance's PHONEME events) with the context rule.

    Returns one tuple per name: ``espeak_to_arpabet(name)``, except that an ``r`` or ``r-`` right after a
    phoneme whose phones end in R or ER gives ``()`` (see the module docstring). A pause in between
    resets the context. A ``()`` for a name that is not a pause means "no phone of its own": its time
    belongs to the phone before it.
    """
    result: list[tuple[str, ...]] = []
    last = None
    for name in names:
        phones = espeak_to_arpabet(name)
        if phones == ("R",) and last in ("R", "ER"):
            phones = ()
        elif phones or is_pause(name):
            last = phones[-1] if phones else None
        result.append(phones)
    return result
