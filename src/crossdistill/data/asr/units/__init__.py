"""Paper 001's three output units and the data the LM teachers and acoustic models train on.

- phones: ``crossdistill.data.asr.phones.PHONES`` (41);
- senones: triphone HMM states tied by a phonetic decision tree (``tree.py``, ``questions.py``);
- subwords: a sentencepiece unigram model on the LM text (``subwords.py``);

with frame labels of every aligned utterance (``labels.py``) and the LM text in each unit (``lm_text.py``).
``build_units`` writes a units folder, ``load_units`` reads one (docs/asr-units.md). Names are imported on
first use, so that importing ``options`` (the CLI does) stays light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "UnitsOptions": "options",
    "UnitsInputs": "build",
    "Utterance": "build",
    "build_units": "build",
    "units_key": "build",
    "Units": "load",
    "load_units": "load",
    "units_inputs": "corpus",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
