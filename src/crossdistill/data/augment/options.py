"""What an augmentation makes: the options of ``crossdistill data augment``, parsed and checked in one place.

Copies. Every factor of ``speeds`` other than 1.0 gives one speed-perturbed copy of each training utterance (Kaldi's
``sp0.9-`` copies). A factor of 1.0 stands for the original recording, which is always kept unchanged; when noise or
reverberation is asked for, 1.0 also gives a copy (at the original speed, with that noise or reverberation), since
only then does it differ from the original. Each copy gets additive noise when ``noise_snr_db`` is set and room
reverberation with probability ``reverb``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_SPEEDS = (0.9, 1.0, 1.1)
DEFAULT_ROOMS = 100
SPEED_DECIMALS = 3  # a factor is written into speaker ids (sp0.9-, or 900 in a LibriSpeech id): at most 0.001 apart


@dataclass(frozen=True)
class AugmentOptions:
    """The options that define an augmented corpus (recorded in its ``corpus.json``).

    Fields:
      speeds: speed factors (> 0, at most 3 decimals, distinct); see the module docstring for what each gives.
      noise_snr_db: (low, high) in dB: each copy gets coloured noise at an SNR drawn uniformly from it; None: no
        noise.
      reverb: probability in [0, 1] that a copy is convolved with a simulated room impulse response.
      rooms: how many simulated rooms the reverberated copies draw from (Kaldi's recipes also draw from a fixed
        set of simulated impulse responses).
      seed: every random choice derives from it and the utterance id.
    """

    speeds: tuple[float, ...] = DEFAULT_SPEEDS
    noise_snr_db: tuple[float, float] | None = None
    reverb: float = 0.0
    rooms: int = DEFAULT_ROOMS
    seed: int = 0

    def __post_init__(self) -> None:
        speeds = tuple(float(s) for s in self.speeds)
        if not speeds:
            raise ValueError("--speed needs at least one factor")
        for speed in speeds:
            if not (math.isfinite(speed) and speed > 0):
                raise ValueError(f"--speed factors must be positive numbers, got {speed:g}")
            if abs(speed * 10**SPEED_DECIMALS - round(speed * 10**SPEED_DECIMALS)) > 1e-6:
                raise ValueError(f"--speed factor {speed!r} has more than {SPEED_DECIMALS} decimals")
        if len({speed_key(s) for s in speeds}) != len(speeds):
            raise ValueError(f"--speed lists a factor twice: {','.join(map(str, speeds))}")
        object.__setattr__(self, "speeds", speeds)
        if self.noise_snr_db is not None:
            low, high = (float(v) for v in self.noise_snr_db)
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError(f"--noise-snr must be finite, got {low}:{high}")
            if low > high:
                raise ValueError(f"--noise-snr {low:g}:{high:g} is reversed; give LOW:HIGH in dB")
            object.__setattr__(self, "noise_snr_db", (low, high))
        if not 0.0 <= float(self.reverb) <= 1.0:
            raise ValueError(f"--reverb is a probability in [0, 1], got {self.reverb}")
        object.__setattr__(self, "reverb", float(self.reverb))
        if int(self.rooms) < 1:
            raise ValueError(f"--rooms must be at least 1, got {self.rooms}")
        if not self.copy_speeds():
            raise ValueError(
                "nothing to augment: --speed 1.0 alone makes no copy without --noise-snr or --reverb; add a factor "
                "such as 0.9 or 1.1, or noise or reverberation"
            )

    @property
    def changes_signal(self) -> bool:
        """Whether copies get noise or may get reverberation (then a 1.0 copy differs from the original)."""
        return self.noise_snr_db is not None or self.reverb > 0

    def copy_speeds(self) -> tuple[float, ...]:
        """The factors that give a copy, sorted (1.0 only when noise or reverberation is on)."""
        return tuple(sorted(s for s in self.speeds if s != 1.0 or self.changes_signal))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; what ``corpus.json`` records."""
        record = asdict(self)
        record["speeds"] = list(self.speeds)
        record["noise_snr_db"] = None if self.noise_snr_db is None else list(self.noise_snr_db)
        return record


def speed_key(speed: float) -> int:
    """The factor in thousandths (0.9 -> 900): the integer that names a copy and seeds its random streams."""
    return round(speed * 10**SPEED_DECIMALS)


def speed_prefix(speed: float) -> str:
    """Kaldi's speaker and utterance prefix for a factor: ``sp0.9-``, ``sp1.0-``, ``sp1.25-``."""
    return f"sp{speed_key(speed) / 10**SPEED_DECIMALS!r}-"


def parse_speeds(text: str) -> tuple[float, ...]:
    """``"0.9,1.0,1.1"`` -> (0.9, 1.0, 1.1); ``ValueError`` naming ``--speed`` otherwise."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--speed takes comma-separated numbers such as 0.9,1.0,1.1, got {text!r}") from None


def parse_snr_range(text: str) -> tuple[float, float]:
    """``"0:20"`` -> (0.0, 20.0), ``"10"`` -> (10.0, 10.0); ``ValueError`` naming ``--noise-snr`` otherwise."""
    parts = text.split(":")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise ValueError(f"--noise-snr takes LOW:HIGH in dB (or one value), such as 0:20, got {text!r}")
    return (values[0], values[-1])
