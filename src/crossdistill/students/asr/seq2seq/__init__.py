"""Paper 001's attention-based seq2seq ASR model (``model``) and its batched beam search (``search``)."""

from crossdistill.students.asr.seq2seq.model import (
    CTC_HEAD,
    KD_HEAD,
    SUPERVISED_HEAD,
    Seq2SeqASR,
    Seq2SeqConfig,
    subsampled_lengths,
)
from crossdistill.students.asr.seq2seq.search import Hypothesis, beam_search

__all__ = [
    "CTC_HEAD",
    "KD_HEAD",
    "SUPERVISED_HEAD",
    "Hypothesis",
    "Seq2SeqASR",
    "Seq2SeqConfig",
    "beam_search",
    "subsampled_lengths",
]
