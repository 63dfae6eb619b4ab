"""Speech data: FSC-layout corpora (real and synthetic), alignments, features and data loading.

Only the corpus API is imported here (it is light); import ``features``, ``loading``, ``synth`` and
``alignments`` from their modules.
"""

from crossdistill.data.corpus import Corpus, CorpusError, LabelSet, Utterance, load_corpus

__all__ = ["Corpus", "CorpusError", "LabelSet", "Utterance", "load_corpus"]
