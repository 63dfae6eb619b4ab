"""Paper 001's three output units and the data the LM teachers and acoustic models train on.

- phones: ``crossdistill.data.asr.phones.PHONES`` (41);
- senones: triphone HMM states tied by a phonetic decision tree (``tree.py``, ``questions.py``);
- subwords: a sentencepiece unigram model on the LM text (``subwords.py``);

with frame labels of every aligned utterance (``labels.py``) and the LM text in each unit (``lm_text.py``).
``build_units`` writes a units folder, ``load_units`` reads one (docs/asr-units.md).
"""

from crossdistill.data.asr.units.build import UnitsInputs, UnitsOptions, Utterance, build_units, units_key
from crossdistill.data.asr.units.load import Units, load_units

__all__ = ["Units", "UnitsInputs", "UnitsOptions", "Utterance", "build_units", "load_units", "units_key"]
