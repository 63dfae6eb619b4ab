"""Decode a corpus split with a finished seq2seq run (``crossdistill asr decode --model RUN ...``) and score its WER.

Writes ``RUN/decode/<split>-beam<B>.json`` (the returned summary) and ``RUN/decode/<split>-beam<B>.tsv`` (one line
per utterance, as ``hypotheses/*.tsv`` of the run). Beam search reads the supervised head only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from crossdistill.common import atomic_write_text
from crossdistill.data.asr.features import FbankSettings, load_or_compute_fbank
from crossdistill.data.asr.librispeech import load_asr_corpus
from crossdistill.data.asr.units import load_units
from crossdistill.students.asr.seq2seq.model import Seq2SeqASR
from crossdistill.students.asr.seq2seq.search import check_search_options
from crossdistill.train.asr.seq2seq import MODEL_DIR, write_hypotheses
from crossdistill.train.asr.seq2seq_eval import transcribe, word_error_rate
from crossdistill.train.asr.seq2seq_inputs import encode_transcripts, open_subword_model

DECODE_DIR = "decode"


def load_trained_seq2seq(model_dir: str | Path) -> tuple[Seq2SeqASR, dict[str, Any], Path]:
    """The model of a run folder (or of its ``model/`` folder), its metadata, and the run folder."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"--model {model_dir} is not a folder")
    folder = model_dir / MODEL_DIR if (model_dir / MODEL_DIR).is_dir() else model_dir
    model, metadata = Seq2SeqASR.from_pretrained(folder)
    return model, metadata, folder.parent if folder.name == MODEL_DIR else folder


def decode(
    model_dir: str | Path,
    corpus_dir: str | Path,
    split: str,
    beam: int | None = None,
    length_penalty: float | None = None,
    batch_size: int | None = None,
    max_tokens: int | None = None,
    ctc_weight: float | None = None,
    threads: int | None = None,
    features_cache: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Beam-search ``split`` of ``corpus_dir`` with the run's model; None options take the run's decode settings.

    The corpus may be another than the training corpus; its transcripts are references only (words the subword
    model cannot spell are counted in ``oov_words``, as ASR tools report out-of-vocabulary words).
    """
    model, metadata, run = load_trained_seq2seq(model_dir)
    settings = dict(metadata.get("decode", {}))
    for key, value in {
        "beam": beam,
        "length_penalty": length_penalty,
        "batch_size": batch_size,
        "max_tokens": max_tokens,
        "ctc_weight": ctc_weight,
    }.items():
        if value is not None:
            settings[key] = value
    settings.setdefault("ctc_weight", 0.0)  # models saved before joint CTC decoding existed
    check_search_options(settings["beam"], settings["length_penalty"], settings["max_tokens"], settings["ctc_weight"])
    if settings["batch_size"] < 1:
        raise ValueError(f"--batch-size must be >= 1, got {settings['batch_size']}")
    units = load_units(metadata["units_dir"])
    if units.key != metadata["units_key"] or units.size("subword") != model.config.vocab_size:
        raise ValueError(
            f"the units folder {metadata['units_dir']} (key {units.key}, {units.size('subword')} subwords) is not the "
            f"one the model was trained with (key {metadata['units_key']}, {model.config.vocab_size} subwords)"
        )
    subwords = open_subword_model(units)
    corpus = load_asr_corpus(corpus_dir, splits=[split], allow_oov=True, progress=progress)
    if threads is not None:
        torch.set_num_threads(threads)
    features = load_or_compute_fbank(
        corpus, FbankSettings(num_mel_bins=model.config.num_mel_bins), features_cache, progress
    )[split]
    utterances = corpus.splits[split]
    _, uncovered = encode_transcripts(subwords, utterances)
    decoded = transcribe(
        model,
        features,
        [u.utt_id for u in utterances],
        subwords,
        settings["beam"],
        settings["length_penalty"],
        settings["max_tokens"],
        settings["batch_size"],
        progress,
        settings["ctc_weight"],
    )
    references = [" ".join(u.words) for u in utterances]
    hypotheses = [decoded.hypotheses[u.utt_id] for u in utterances]
    name = f"{split}-beam{settings['beam']}" + (f"-ctc{settings['ctc_weight']:g}" if settings["ctc_weight"] else "")
    write_hypotheses(run / DECODE_DIR / f"{name}.tsv", [u.utt_id for u in utterances], references, hypotheses)
    summary = {
        "recipe": "seq2seq",
        "model": str(run),
        "corpus": str(Path(corpus_dir)),
        "split": split,
        **word_error_rate(references, hypotheses),
        "oov_words": len(uncovered),
        "decode": settings,
        "real_time_factor": decoded.real_time_factor,
        "decode_seconds": round(decoded.decode_seconds, 3),
        "audio_seconds": round(decoded.audio_seconds, 3),
        "hypotheses": str(run / DECODE_DIR / f"{name}.tsv"),
    }
    atomic_write_text(run / DECODE_DIR / f"{name}.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
