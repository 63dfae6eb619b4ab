"""Named student sizes. Label-dependent sizes (phoneme inventory, word vocabulary, heads) are filled in later.

- ``lugosch``: the released configuration of Lugosch et al. (2019) (``cfg/pretrained_model.cfg``): SincNet
  80 x 401 taps / stride 80, two 60-channel convolutions, 2 x 128 phoneme GRUs and 2 x 128 word GRUs
  (bidirectional, average-pool downsampling by 2 after each), dropout 0.5, intent bi-GRU of 128.
- ``default``: the same layout and frame rates with 64-unit GRUs and dropout 0.2, so that pre-training and
  intent training fit a 2-core CPU; the SincNet front end keeps Lugosch's sizes (it is cheap).
- ``tiny``: a few thousand parameters, for tests.

All presets keep Lugosch's rates: 10 ms after the front end, 40 ms after the phoneme layers, 160 ms after
the word layers.
"""

from __future__ import annotations

from crossdistill.students.acoustic import AcousticConfig
from crossdistill.students.frontends import LogMelConfig, SincNetConfig
from crossdistill.students.intent import IntentConfig

PRESETS = ("tiny", "default", "lugosch")


def acoustic_preset(name: str, frontend: str = "sincnet", n_phonemes: int = 40, n_words: int = 100) -> AcousticConfig:
    """Return the acoustic config of preset ``name`` with the given front end and classifier sizes."""
    if name == "lugosch":
        config = AcousticConfig(dropout=0.5)
    elif name == "default":
        config = AcousticConfig(phoneme_hidden=[64, 64], word_hidden=[64, 64], dropout=0.2)
    elif name == "tiny":
        config = AcousticConfig(
            sincnet=SincNetConfig(n_filters=8, filter_length=101, conv_channels=[8], conv_pools=[1]),
            logmel=LogMelConfig(conv_channels=[8], conv_pools=[1]),
            phoneme_hidden=[8, 8],
            word_hidden=[8, 8],
            dropout=0.1,
        )
    else:
        raise ValueError(f"unknown student preset {name!r}; choose one of {list(PRESETS)}")
    config.frontend = frontend
    config.n_phonemes = n_phonemes
    config.n_words = n_words
    config.validate()
    return config


def intent_preset(name: str) -> IntentConfig:
    """Return the intent-module config of preset ``name`` (heads still empty)."""
    sizes = {"lugosch": (128, 0.5), "default": (64, 0.2), "tiny": (8, 0.1)}
    if name not in sizes:
        raise ValueError(f"unknown student preset {name!r}; choose one of {list(PRESETS)}")
    hidden, dropout = sizes[name]
    return IntentConfig(hidden=hidden, dropout=dropout)
