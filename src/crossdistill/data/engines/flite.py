"""flite (CMU's small synthesizer, Debian ``flite``/``libflite1``) as a synthesis engine, through its C API.

The library and one shared library per voice are loaded with ctypes (``libflite.so.1``,
``libflite_cmu_us_<voice>.so.1``); ``flite_synth_text`` returns an utterance whose wave we copy and whose Segment
relation gives every phone's end time; each phone's token comes from the path
``R:SylStructure.parent.parent.R:Token.parent`` (phone -> syllable -> word -> token), so word times are those of
their phones. Voices: ``kal`` (diphone, 8 kHz), ``kal16`` (the same diphones at 16 kHz), ``awb``, ``rms``, ``slt``
(clustergen statistical parametric voices, 16 kHz). ``awb_time`` (a talking clock) is left out.

Prosody: ``duration_stretch`` (durations x 175 / rate) and ``f0_shift`` (F0 multiplier, ``Prosody.pitch_factor``);
flite has no pitch-range or word-gap control, so those are not used. Every feature we use is set before every
utterance, so nothing carries over from one to the next. The clustergen voices' excitation draws from the C
library's ``rand()``, so each utterance first seeds it (``srand(Prosody.seed)``): without that the same text came
out differently the second time in one process.
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from crossdistill.data.engines.base import EngineSynthesis, EngineUnavailable, Prosody, SynthesisError

NAME = "flite"
PHONE_SET = "cmu"
VOICES = ("kal", "kal16", "awb", "rms", "slt")
PACKAGES = ("flite",)  # brings libflite1, the library and its voices
LIBRARY = "libflite.so.1"
LANGUAGE_LIBRARIES = ("libflite_usenglish.so.1", "libflite_cmulex.so.1")
SILENCES = frozenset({"pau", "h#", "brth"})
_TOKEN_PATH = b"R:SylStructure.parent.parent.R:Token.parent"


def voice_library(voice: str) -> str:
    """The shared library that holds ``voice``."""
    return f"libflite_cmu_us_{voice}.so.1"


def load_library(name: str) -> ctypes.CDLL:
    """Load one of flite's shared libraries with its symbols global (a voice library uses the language's)."""
    return ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)


def missing_voices(voices: tuple[str, ...]) -> dict[str, str]:
    """The voices of ``voices`` that cannot be loaded here, each with why (flite missing: all of them)."""
    try:
        for name in (LIBRARY, *LANGUAGE_LIBRARIES):
            load_library(name)
    except OSError:
        return dict.fromkeys(voices, f"flite is not installed (Debian package {' '.join(PACKAGES)}: no {name})")
    missing = {}
    for voice in voices:
        if voice not in VOICES:
            missing[voice] = f"flite has no voice {voice!r} here (known: {', '.join(VOICES)})"
            continue
        try:
            load_library(voice_library(voice))
        except OSError:
            missing[voice] = f"flite voice {voice!r} is not installed (no {voice_library(voice)})"
    return missing


class _Wave(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_char_p),
        ("sample_rate", ctypes.c_int),
        ("num_samples", ctypes.c_int),
        ("num_channels", ctypes.c_int),
        ("samples", ctypes.POINTER(ctypes.c_short)),
    )


class _Voice(ctypes.Structure):  # the head of cst_voice: its name and feature set
    _fields_ = (("name", ctypes.c_char_p), ("features", ctypes.c_void_p))


class FliteEngine:
    """flite's library in this process (voices registered on first use)."""

    name = NAME

    def __init__(self) -> None:
        try:
            lib = load_library(LIBRARY)
            for language in LANGUAGE_LIBRARIES:
                load_library(language)
        except OSError as error:
            raise EngineUnavailable(f"flite is not installed (Debian package {' '.join(PACKAGES)}): {error}") from None
        void_p, char_p = ctypes.c_void_p, ctypes.c_char_p
        for function, restype, argtypes in (
            ("flite_synth_text", void_p, (char_p, void_p)),
            ("utt_wave", ctypes.POINTER(_Wave), (void_p,)),
            ("utt_relation", void_p, (void_p, char_p)),
            ("relation_head", void_p, (void_p,)),
            ("item_next", void_p, (void_p,)),
            ("item_feat_float", ctypes.c_float, (void_p, char_p)),
            ("ffeature_string", char_p, (void_p, char_p)),
            ("path_to_item", void_p, (void_p, char_p)),
            ("delete_utterance", None, (void_p,)),
            ("feat_set_float", None, (void_p, char_p, ctypes.c_float)),
        ):
            getattr(lib, function).restype = restype
            getattr(lib, function).argtypes = argtypes
        lib.flite_init()
        self._lib = lib
        self._libc = ctypes.CDLL(None)  # the process's C library: flite's rand()
        self._libc.srand.argtypes = (ctypes.c_uint,)

    @functools.cache  # noqa: B019 (one engine per process, as long-lived as the library)
    def _voice(self, voice: str) -> ctypes.c_void_p:
        if voice not in VOICES:
            raise EngineUnavailable(f"flite has no voice {voice!r} (known: {', '.join(VOICES)})")
        try:
            library = load_library(voice_library(voice))
        except OSError as error:
            raise EngineUnavailable(f"flite voice {voice!r} is not installed: {error}") from None
        register = getattr(library, f"register_cmu_us_{voice}")
        register.restype, register.argtypes = ctypes.c_void_p, (ctypes.c_char_p,)
        handle = register(None)
        if not handle:
            raise EngineUnavailable(f"flite could not register voice {voice!r}")
        return handle

    def synthesize(self, text: str, voice: str, prosody: Prosody) -> EngineSynthesis:
        """Say ``text`` with flite voice ``voice`` at ``prosody``."""
        from crossdistill.data.engines.base import segments_from_tokens

        lib, handle = self._lib, self._voice(voice)
        features = _Voice.from_address(handle).features
        lib.feat_set_float(features, b"duration_stretch", prosody.duration_stretch)
        lib.feat_set_float(features, b"f0_shift", prosody.pitch_factor)
        self._libc.srand(prosody.seed & 0xFFFFFFFF)
        utterance = lib.flite_synth_text(text.encode("utf-8"), handle)
        if not utterance:
            raise SynthesisError(f"flite voice {voice!r} returned no utterance")
        try:
            wave = lib.utt_wave(utterance)
            if not wave or wave.contents.num_samples <= 0:
                raise SynthesisError(f"flite voice {voice!r} returned empty audio")
            wave = wave.contents
            if wave.num_channels != 1:
                raise SynthesisError(f"flite voice {voice!r} returned {wave.num_channels} channels")
            audio = np.ctypeslib.as_array(wave.samples, shape=(wave.num_samples,)).astype(np.int16)
            token_index: dict[int, int] = {}
            token_names: list[str] = []
            phones = []
            item = lib.relation_head(lib.utt_relation(utterance, b"Segment"))
            while item:
                token = lib.path_to_item(item, _TOKEN_PATH)
                if token and token not in token_index:
                    token_index[token] = len(token_names)
                    token_names.append(lib.ffeature_string(token, b"name").decode("utf-8", errors="replace"))
                name = lib.ffeature_string(item, b"name").decode("ascii", errors="replace")
                phones.append((name, float(lib.item_feat_float(item, b"end")), token_index.get(token)))
                item = lib.item_next(item)
            words, segments = segments_from_tokens(text, phones, token_names, wave.sample_rate, audio.shape[0],
                                                   SILENCES)  # fmt: skip
            return EngineSynthesis(audio, int(wave.sample_rate), words, segments, PHONE_SET)
        finally:
            lib.delete_utterance(utterance)
