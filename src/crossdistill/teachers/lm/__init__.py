"""Paper 001's teachers: LSTM language models over senones, phones or subwords, and their cached outputs.

- ``model``: the LM (embedding, stacked LSTM, output layer), saved as config.json + model.safetensors;
- ``training``: Lightning training on a units folder's LM text, selection on held-out perplexity, exact resume;
- ``posteriors``: frame-wise posteriors of every AM utterance (deduplicate -> LM -> per-segment rows), cached and
  keyed; ``load_posteriors`` reads them back for the acoustic-model training;
- ``transcripts``: the subword LM's next-token distributions on reference transcripts (for the seq2seq model).

Submodules are imported where needed, so that importing this package stays cheap.
"""
