"""`crossdistill asr units` on the synthesized tiny corpus: the whole pipeline in seconds."""

from __future__ import annotations

import itertools
import json

import numpy as np

from crossdistill.cli import main
from crossdistill.data.asr.units import load_units


def test_units_of_the_tiny_corpus(asr_tiny_corpus, tmp_path, capsys):
    from crossdistill.data.asr.features import load_or_compute_fbank
    from crossdistill.data.asr.librispeech import load_asr_corpus

    out, cache = tmp_path / "units", tmp_path / "cache"
    args = ["asr", "units", "--corpus", str(asr_tiny_corpus), "--out", str(out), "--senones", "200",
            "--subwords", "200", "--min-leaf-frames", "20", "--features-cache", str(cache), "--quiet"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    corpus = load_asr_corpus(asr_tiny_corpus, progress=False)
    units = load_units(out, corpus)
    assert summary["senones"] == units.size("senone") == 200 and summary["subwords"] == units.size("subword") == 200
    features = load_or_compute_fbank(corpus, cache_dir=cache, progress=False)
    for split, utterances in corpus.splits.items():
        frames = units.frames(split)
        assert frames.utt_ids.tolist() == [u.utt_id for u in utterances]
        # one label per fbank frame of every utterance
        np.testing.assert_array_equal(frames.offsets, features[split].offsets)
        assert summary["measured"][f"frames_{split}"]["frames"] == frames.offsets[-1]
    # each LM text has one line per sentence of its source, in the units' inventories
    sources = {"train": corpus.lm_text, "valid": corpus.lm_valid}
    for unit, part in itertools.product(("senone", "phone", "subword"), ("train", "valid", "dev")):
        lines = units.lm_text(unit, part).read_text().splitlines()
        expected = len(corpus.splits["dev"]) if part == "dev" else len(sources[part].read_text().splitlines())
        assert len(lines) == expected, (unit, part)
        assert {s for line in lines for s in line.split()} <= set(units.inventories[unit]), (unit, part)
    assert summary["measured"]["lm_train"]["oov_words"] == 0  # the corpus lexicon covers its LM text
