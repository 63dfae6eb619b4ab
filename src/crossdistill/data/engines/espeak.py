"""eSpeak NG as a synthesis engine: the library shipped by ``espeakng-loader`` (``crossdistill.data.espeak``).

A voice is eSpeak's language voice plus variant (``en-us+m3``); the corpora draw them from ``presets.yaml``
(``voices`` x ``variants``). Timings come from eSpeak's own WORD and PHONEME events (exact; see
``crossdistill.data.alignments.build_alignment``). Always installed: it is a Python dependency.
"""

from __future__ import annotations

from crossdistill.data.alignments import build_alignment
from crossdistill.data.engines.base import EngineSynthesis, Prosody, SynthesisError

NAME = "espeak"
PHONE_SET = "espeak"


def missing_voices(voices: tuple[str, ...]) -> dict[str, str]:
    """eSpeak's voices come with the wheel: none is ever missing."""
    return {}


class ESpeakEngine:
    """eSpeak NG through this process's single library handle."""

    name = NAME

    def __init__(self) -> None:
        from crossdistill.data.espeak import ESpeak

        self._espeak = ESpeak.get()

    def synthesize(self, text: str, voice: str, prosody: Prosody) -> EngineSynthesis:
        """Say ``text`` with ``voice`` (``language+variant``) at ``prosody``; eSpeak's noise seeded from it."""
        espeak = self._espeak
        espeak.set_voice(voice)
        espeak.set_prosody(
            rate=prosody.rate_wpm, pitch=prosody.pitch, pitch_range=prosody.pitch_range, word_gap=prosody.word_gap
        )
        espeak.set_random_seed(prosody.seed)
        synthesis = espeak.synthesize(text)
        if synthesis.audio.size == 0:
            raise SynthesisError("eSpeak NG returned empty audio")
        try:
            words, phones = build_alignment(
                text,
                [(p.name, p.sample, p.text_position) for p in synthesis.phonemes],
                [(w.text_position, w.sample) for w in synthesis.words],
                synthesis.audio.shape[0],
                espeak.phonemize_word,
            )
        except ValueError as error:
            raise SynthesisError(str(error)) from None
        return EngineSynthesis(synthesis.audio, synthesis.sample_rate, tuple(words), tuple(phones), PHONE_SET)
