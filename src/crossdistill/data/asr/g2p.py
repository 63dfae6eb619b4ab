"""Grapheme to phoneme: eSpeak NG's own text-to-phoneme (en-us voice) mapped to ARPAbet.

The same eSpeak that synthesizes the corpus gives the pronunciations, so the lexicon says what the audio
says. Each word is phonemized alone (``espeak_TextToPhonemes``), which gives its citation form: in running
speech eSpeak reduces a few function words ("a" is ``eI`` alone, ``a#`` in a sentence; "the" before a vowel
gets ``I2 ;``), so the synthesis alignments of those words can differ from their lexicon entry.
"""

from __future__ import annotations

from collections.abc import Iterable

from crossdistill.data.alignments import strip_stress
from crossdistill.data.asr.phones import espeak_sequence_to_arpabet
from crossdistill.data.espeak import ESpeak

VOICE = "en-us"


def phonemize(words: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Return ``{word: ARPAbet phones}`` for each distinct word, as eSpeak NG en-us says it alone.

    Words are given to eSpeak in lower case: it spells out some all-capital words as abbreviations, and
    our normalized text is upper case. Keys are the words as given. Selects the ``en-us`` voice on this
    process's eSpeak (a synthesizer in the same process sets its own voice before each speaker). Raises
    ``ValueError`` naming the word when eSpeak gives it no phone or a phoneme the table lacks.
    """
    espeak = ESpeak.get()
    espeak.set_voice(VOICE)
    lexicon: dict[str, tuple[str, ...]] = {}
    for word in words:
        if word in lexicon:
            continue
        names = espeak.phonemize_word(word.lower())
        try:
            mapped = espeak_sequence_to_arpabet([strip_stress(name) for name in names])
            phones = tuple(phone for name_phones in mapped for phone in name_phones)
        except ValueError as error:
            raise ValueError(f"word {word!r} (eSpeak: {' '.join(names)}): {error}") from error
        if not phones:
            raise ValueError(f"eSpeak NG gives no phone for the word {word!r}")
        lexicon[word] = phones
    return lexicon
