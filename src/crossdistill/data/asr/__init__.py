"""Paper 001's data: LibriSpeech-layout corpora (synthesized or real), LM text, lexicon, units, alignments."""
