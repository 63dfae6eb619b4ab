"""eSpeak NG through its C API (ctypes), using the library and voice data shipped by ``espeakng-loader``.

One ``ESpeak`` per process: the library keeps global state and is not thread safe. That state also
carries from one utterance to the next (e.g. the pitch-flutter phase), and neither re-initializing nor
re-seeding resets it, so output is reproducible only for the same sequence of calls in a fresh process
(and with its noise generator seeded: ``set_random_seed``; by default it is seeded from the clock).
The synthesizer therefore gives each speaker its own fresh worker process (see ``synth``).

Synthesis runs in ``AUDIO_OUTPUT_SYNCHRONOUS`` mode with phoneme events enabled: the callback receives
16-bit audio plus WORD and PHONEME events whose ``sample`` field is the sample index where the word or
phoneme starts, which gives exact alignments.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass
from pathlib import Path

import espeakng_loader
import numpy as np

# Values from espeak-ng's speak_lib.h.
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
POS_CHARACTER = 1
CHARS_UTF8 = 1
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_PHONEME = 7
PARAM_RATE = 1
PARAM_VOLUME = 2
PARAM_PITCH = 3
PARAM_RANGE = 4
PARAM_WORDGAP = 7
EE_OK = 0


class _EventId(ctypes.Union):
    _fields_ = (("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8))


class _Event(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character offset of the word in the text
        ("length", ctypes.c_int),  # word length in characters (WORD events)
        ("audio_position", ctypes.c_int),  # milliseconds
        ("sample", ctypes.c_int),  # sample index in the output
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class PhonemeEvent:
    """A phoneme start: eSpeak's phoneme name (stress marks kept), start sample, 1-based text position."""

    name: str
    sample: int
    text_position: int


@dataclass(frozen=True)
class WordEvent:
    """A word start as eSpeak reports it: 1-based text position and length in characters, start sample."""

    text_position: int
    length: int
    sample: int


@dataclass(frozen=True)
class Synthesis:
    """The 16-bit audio of one text at ``sample_rate`` and its events in time order."""

    audio: np.ndarray
    sample_rate: int
    phonemes: tuple[PhonemeEvent, ...]
    words: tuple[WordEvent, ...]


def data_root() -> Path:
    """Return the folder holding ``espeak-ng-data`` (what ``espeak_Initialize`` wants as its path)."""
    return Path(espeakng_loader.get_data_path()).parent


def list_variants() -> tuple[str, ...]:
    """Return the voice variant names shipped in ``espeak-ng-data/voices/!v`` (sorted)."""
    return tuple(sorted(p.name for p in (Path(espeakng_loader.get_data_path()) / "voices" / "!v").iterdir()))


class ESpeak:
    """A handle on the process-wide eSpeak NG library in synchronous retrieval mode."""

    _instance: ESpeak | None = None

    def __init__(self) -> None:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
        lib.espeak_Synth.argtypes = (
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        )
        lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
        lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
        lib.espeak_ng_SetRandSeed.argtypes = (ctypes.c_long,)
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = (ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int)
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_root()).encode(), INITIALIZE_PHONEME_EVENTS)
        if rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed (data at {data_root()})")
        self.sample_rate = int(rate)
        self._lib = lib
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, bytes]] = []
        # Keep a reference: ctypes callbacks are freed when their Python object is collected.
        self._callback = _SynthCallback(self._on_audio)
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None

    @classmethod
    def get(cls) -> ESpeak:
        """Return the process's single instance (initializing the library on first use)."""
        if cls._instance is None:
            cls._instance = ESpeak()
        return cls._instance

    def _on_audio(self, wav, n_samples, events) -> int:
        if n_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type in (EVENT_WORD, EVENT_PHONEME):
                self._events.append((e.type, e.text_position, e.length, e.sample, bytes(e.id.string)))
            i += 1
        return 0

    def set_voice(self, name: str) -> None:
        """Select a voice by name, e.g. ``en-us+m3`` (language voice + variant)."""
        if name != self._voice:
            if self._lib.espeak_SetVoiceByName(name.encode()) != EE_OK:
                raise ValueError(f"eSpeak NG has no voice {name!r}")
            self._voice = name
            self.phonemize_word.cache_clear()

    def set_random_seed(self, seed: int) -> None:
        """Seed eSpeak's own noise generator (breathy voices use it; by default it is seeded from the clock)."""
        self._lib.espeak_ng_SetRandSeed(int(seed) & 0x7FFFFFFF)

    def set_prosody(self, rate: int, pitch: int, pitch_range: int, word_gap: int) -> None:
        """Set rate (words per minute, 80-450), pitch and pitch range (0-100), word gap (10 ms units)."""
        for parameter, value in (
            (PARAM_RATE, rate),
            (PARAM_PITCH, pitch),
            (PARAM_RANGE, pitch_range),
            (PARAM_WORDGAP, word_gap),
            (PARAM_VOLUME, 100),
        ):
            if self._lib.espeak_SetParameter(parameter, int(value), 0) != EE_OK:
                raise ValueError(f"eSpeak NG rejected parameter {parameter}={value}")

    def synthesize(self, text: str) -> Synthesis:
        """Synthesize ``text`` with the current voice and prosody."""
        self._chunks, self._events = [], []
        data = text.encode("utf-8")
        status = self._lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        if status != EE_OK:
            raise RuntimeError(f"espeak_Synth failed with status {status} for {text!r}")
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)
        phonemes, words = [], []
        for kind, position, length, sample, name in self._events:
            if kind == EVENT_PHONEME:
                label = name.split(b"\0", 1)[0].decode("utf-8", errors="replace")
                phonemes.append(PhonemeEvent(label, sample, position))
            else:
                words.append(WordEvent(position, length, sample))
        return Synthesis(audio, self.sample_rate, tuple(phonemes), tuple(words))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one instance per process, lives as long as it)
    def phonemize_word(self, word: str) -> tuple[str, ...]:
        """Return the phoneme names of ``word`` said alone with the current voice (stress marks kept)."""
        pointer = ctypes.c_char_p(word.encode("utf-8"))
        names: list[str] = []
        separator = ord("|") << 8  # phonememode bits 8-23: separator character between phonemes
        while pointer.value:
            result = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), CHARS_UTF8, separator)
            if result:
                for chunk in result.decode("utf-8").split():
                    names.extend(n for n in chunk.split("|") if n)
        return tuple(names)
