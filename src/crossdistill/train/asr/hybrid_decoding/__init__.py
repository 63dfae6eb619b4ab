"""Decoding to words and forced alignment with paper 001's hybrid acoustic model (``recipe: hybrid``).

- ``tokens``: the AM's senone scores -> phone-state scores divided by priors (what the decoder searches over);
- ``search``: flashlight-text's lexicon + word n-gram beam search over them (ASG mode), with pronunciation variants
  learned from training alignments (``pronunciations``);
- ``scoring``: WER with substitutions, deletions and insertions (jiwer), OOV rate;
- ``decode``: a corpus split end to end (``crossdistill asr decode``);
- ``viterbi``, ``align_graph``, ``alignment``: forced alignment of transcripts to senone scores, CTM segments and the
  phone-boundary error against a reference;
- ``align``: a corpus end to end (``crossdistill asr align``);
- ``model``: what both read from a trained run; ``acoustic``: the AM's senone log posteriors; ``options``: settings;
- ``oracle``: an AM that knows the reference frame labels, to check decoder and aligner apart from any model.

The word LM is ``crossdistill.data.asr.word_lm`` (KenLM's lmplz). docs/asr.md, "Decoding and alignment", has the
choices and the measured figures.
"""
