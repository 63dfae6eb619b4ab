"""Phonetic questions for the senone tree: hand-written ARPAbet classes plus one question per phone.

Kaldi derives its question sets automatically (``cluster-phones`` on monophone statistics); HTK recipes use
hand-written phonetic classes. We use hand-written classes because they are readable in ``senone_tree.txt``,
do not depend on how much audio there is (the synthetic corpora are small) and are standard phonetics
(place, manner, voicing, vowel height and backness). Every single phone is a question as well, which is what
Kaldi's clustered sets end in too, so the tree can separate any context the data supports.

A question asks whether the left (or right) neighbour of the central phone is in a class; the same classes
serve both sides.
"""

from __future__ import annotations

from crossdistill.data.asr.phones import PHONES

# name -> members; the order is the order questions are tried (ties in likelihood gain go to the earlier one).
PHONETIC_CLASSES: dict[str, tuple[str, ...]] = {
    "SILENCE": ("SIL", "SPN"),
    "VOWEL": ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"),
    "FRONT_VOWEL": ("AE", "EH", "EY", "IH", "IY"),
    "CENTRAL_VOWEL": ("AH", "ER"),
    "BACK_VOWEL": ("AA", "AO", "OW", "UH", "UW"),
    "HIGH_VOWEL": ("IH", "IY", "UH", "UW"),
    "MID_VOWEL": ("AH", "EH", "ER", "EY", "OW"),
    "LOW_VOWEL": ("AA", "AE", "AO"),
    "ROUNDED_VOWEL": ("AO", "OW", "OY", "UH", "UW"),
    "DIPHTHONG": ("AW", "AY", "EY", "OW", "OY"),
    "RHOTIC": ("ER", "R"),
    "CONSONANT": (
        "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG",
        "P", "R", "S", "SH", "T", "TH", "V", "W", "Y", "Z", "ZH",
    ),
    "STOP": ("B", "D", "G", "K", "P", "T"),
    "VOICED_STOP": ("B", "D", "G"),
    "UNVOICED_STOP": ("K", "P", "T"),
    "AFFRICATE": ("CH", "JH"),
    "FRICATIVE": ("DH", "F", "HH", "S", "SH", "TH", "V", "Z", "ZH"),
    "VOICED_FRICATIVE": ("DH", "V", "Z", "ZH"),
    "UNVOICED_FRICATIVE": ("F", "HH", "S", "SH", "TH"),
    "SIBILANT": ("CH", "JH", "S", "SH", "Z", "ZH"),
    "NASAL": ("M", "N", "NG"),
    "LIQUID": ("L", "R"),
    "GLIDE": ("W", "Y"),
    "APPROXIMANT": ("L", "R", "W", "Y"),
    "OBSTRUENT": ("B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "P", "S", "SH", "T", "TH", "V", "Z", "ZH"),
    "SONORANT_CONSONANT": ("L", "M", "N", "NG", "R", "W", "Y"),
    "VOICED_CONSONANT": ("B", "D", "DH", "G", "JH", "L", "M", "N", "NG", "R", "V", "W", "Y", "Z", "ZH"),
    "LABIAL": ("B", "F", "M", "P", "V", "W"),
    "DENTAL": ("DH", "TH"),
    "ALVEOLAR": ("D", "L", "N", "S", "T", "Z"),
    "POSTALVEOLAR": ("CH", "JH", "R", "SH", "Y", "ZH"),
    "CORONAL": ("CH", "D", "DH", "JH", "L", "N", "R", "S", "SH", "T", "TH", "Z", "ZH"),
    "VELAR": ("G", "K", "NG"),
}  # fmt: skip


def default_questions(phones: tuple[str, ...] = PHONES) -> dict[str, tuple[str, ...]]:
    """The phonetic classes followed by one singleton question per phone (named after the phone)."""
    unknown = sorted({p for members in PHONETIC_CLASSES.values() for p in members} - set(phones))
    if unknown:
        raise ValueError(f"phonetic classes name phones outside the inventory: {', '.join(unknown)}")
    questions = dict(PHONETIC_CLASSES)
    for phone in phones:
        if phone in questions:
            raise ValueError(f"phone {phone!r} has the name of a phonetic class")
        questions[phone] = (phone,)
    return questions
