"""The LM teachers end to end on the synthesized tiny corpus: three LMs, posterior and transcript caches, all
through the command line (in this process), on the session's units folder of that corpus."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import torch

from crossdistill.cli import main
from crossdistill.data.asr.librispeech import load_asr_corpus
from crossdistill.data.asr.units import load_units
from crossdistill.teachers.lm.posteriors import expected_posterior_key, load_posteriors
from crossdistill.teachers.lm.transcripts import expected_transcript_key, load_transcript_posteriors

TINY_LM = {"model.embedding_dim": 32, "model.hidden_dim": 48, "model.num_layers": 2, "epochs": 3, "batch_size": 16,
           "lr": 0.01, "max_train_sentences": 400, "threads": 1, "trainer.progress_bar": "false"}  # fmt: skip
UNITS = ("phone", "senone", "subword")


def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def teachers(asr_pipeline, tmp_path_factory):
    """The three LMs trained from the CLI on the session's units folder of the tiny corpus (``asr_pipeline``, made by
    ``crossdistill.data.asr.units``), with what each command printed; ``root / "units"`` links to that folder."""
    root = tmp_path_factory.mktemp("lm_tiny")
    (root / "units").symlink_to(asr_pipeline.units)
    settings = [f"{k}={v}" for k, v in TINY_LM.items()]
    printed = {}
    for unit in UNITS:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["asr", "lm", "train", "--units", str(root / "units"), "--unit", unit, "--out",
                         str(root / unit), *settings]) == 0  # fmt: skip
        printed[unit] = json.loads(out.getvalue().strip().splitlines()[-1])
    return root, printed


@pytest.mark.parametrize("unit", UNITS)
def test_the_three_lms_train_from_the_cli_and_beat_the_unigram_baseline(teachers, unit):
    root, printed = teachers
    metrics = json.loads((root / unit / "metrics.json").read_text())
    assert printed[unit]["perplexity"] == metrics["perplexity"]
    for part in ("valid", "dev"):
        assert metrics["perplexity"][part] < 0.7 * metrics["unigram_perplexity"][part], (unit, part, metrics)
    assert metrics["sentences"]["train"] == 400


def test_posterior_and_transcript_caches_of_the_tiny_corpus(teachers, asr_tiny_corpus, capsys):
    root, _ = teachers
    units = load_units(root / "units", load_asr_corpus(asr_tiny_corpus, progress=False))
    total_frames = sum(int(units.frames(split).offsets[-1]) for split in units.splits)
    for unit in UNITS:
        assert main(["asr", "lm", "posteriors", "--lm", str(root / unit), "--corpus", str(asr_tiny_corpus),
                     "--top-k", "8", "--no-progress"]) == 0  # fmt: skip
        line = _last_json(capsys)
        assert {"cache", "unit", "vocab", "utterances", "segments", "frames", "bytes"} <= set(line)
        assert line["unit"] == unit and line["frames"] == total_frames and line["segments"] < total_frames
        cache = load_posteriors(line["cache"], expected_posterior_key(root / unit, root / "units", top_k=8))
        for split in units.splits:
            for position, utt_id in enumerate(units.frames(split).utt_ids.tolist()):
                segments = cache.split(split).utterance(utt_id)
                labels = torch.from_numpy(units.frames(split).utterance(position)[unit].astype("int64"))
                assert torch.equal(torch.repeat_interleave(segments.units, segments.segment_lengths), labels)
    assert main(["asr", "lm", "transcripts", "--lm", str(root / "subword"), "--corpus", str(asr_tiny_corpus),
                 "--no-progress"]) == 0  # fmt: skip
    line = _last_json(capsys)
    corpus = load_asr_corpus(asr_tiny_corpus, progress=False)
    cache = load_transcript_posteriors(line["cache"], expected_transcript_key(root / "subword", root / "units",
                                                                              corpus))  # fmt: skip
    utterance = corpus.splits["test"][0]
    assert cache.utterance(utterance.utt_id).text == " ".join(utterance.words)
    assert main(["asr", "lm", "posteriors", "--lm", str(root / "phone"), "--corpus", str(root / "nowhere")]) == 2
    assert "--corpus" in capsys.readouterr().err
