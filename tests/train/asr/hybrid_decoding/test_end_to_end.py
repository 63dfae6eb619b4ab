"""The hybrid chain end to end on the tiny corpus: a 1-epoch AM, then `crossdistill asr decode` and `crossdistill asr
align` through the CLI: reports consistent with their per-utterance files, OOV rate for a lexicon missing a test
word, CTM files the corpus reader accepts, and clear errors for bad input before anything is written."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from crossdistill.cli import main
from crossdistill.data.asr.lexicon import read_lexicon, write_lexicon
from crossdistill.data.asr.librispeech import load_asr_corpus
from crossdistill.data.asr.word_lm import INSTALL_HINT, build_word_lm, kenlm_available
from crossdistill.train.asr.hybrid import load_config, train
from crossdistill.train.asr.hybrid_decoding.alignment import (
    align_utterance,
    combine_boundary_errors,
    phone_boundary_errors,
)
from crossdistill.train.asr.hybrid_decoding.options import SearchOptions
from crossdistill.train.asr.hybrid_decoding.oracle import open_oracle
from crossdistill.train.asr.hybrid_decoding.pronunciations import learn_variants
from crossdistill.train.asr.hybrid_decoding.scoring import score_corpus
from crossdistill.train.asr.hybrid_decoding.search import LexiconSearch

CONFIGS = Path(__file__).parents[4] / "configs" / "asr" / "hybrid"


@pytest.fixture(scope="module")
def run(asr_pipeline, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hybrid_decoding") / "run"
    train(load_config(CONFIGS / "baseline.yaml", asr_pipeline.hybrid_overrides(out, epochs=1)))
    return out


def decode(run: Path, pipeline, capsys, *extra: str) -> tuple[int, dict | str]:
    """Exit status and the printed report (or, on failure, the error text)."""
    argv = ["asr", "decode", "--model", str(run), "--corpus", str(pipeline.corpus), "--features-cache",
            str(pipeline.features_cache), "--quiet", *extra]  # fmt: skip
    code = main(argv)
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else captured.err


def test_decode_reports_wer_parts_and_writes_them_beside_the_model(run, asr_pipeline, capsys):
    code, report = decode(run, asr_pipeline, capsys, "--no-lm", "--tune-split", "dev", "--lm-weights", "0",
                          "--word-scores", "-2", "0")  # fmt: skip
    assert code == 0
    assert json.loads((run / "decode" / "test.json").read_text()) == report
    rows = [json.loads(line) for line in (run / "decode" / "test.utterances.jsonl").read_text().splitlines()]
    corpus = load_asr_corpus(asr_pipeline.corpus, progress=False)
    assert [r["utt_id"] for r in rows] == [u.utt_id for u in corpus.splits["test"]]
    assert [r["reference"] for r in rows] == [" ".join(u.words) for u in corpus.splits["test"]]
    words = sum(len(u.words) for u in corpus.splits["test"])
    errors = sum(r["substitutions"] + r["deletions"] + r["insertions"] for r in rows)
    assert report["reference_words"] == words and report["wer"] == pytest.approx(errors / words, abs=1e-6)
    assert all(word in corpus.lexicon for r in rows for word in r["hypothesis"].split())
    assert report["oov_rate"] == 0 and report["rtf"] > 0 and report["split"] == "test"
    variants = learn_variants(corpus.alignments["train"], corpus.lexicon)
    assert report["pronunciation_variants"] == {
        "from": "train",
        "words": len(variants),
        "variants": sum(map(len, variants.values())),
    }
    # Tuned on dev over the 1 x 2 grid; the chosen word score is the grid's best dev WER.
    grid = report["tuning"]["grid"]
    assert [g["word_score"] for g in grid] == [-2.0, 0.0] and report["tuning"]["split"] == "dev"
    assert report["search"]["word_score"] == min(grid, key=lambda g: g["wer"])["word_score"]


def test_a_lexicon_missing_a_test_word_reports_the_oov_rate_and_decodes(run, asr_pipeline, capsys, tmp_path):
    corpus = load_asr_corpus(asr_pipeline.corpus, progress=False)
    counts = Counter(w for u in corpus.splits["test"] for w in u.words)
    missing, count = counts.most_common(1)[0]
    lexicon = read_lexicon(corpus.lexicon_path)
    del lexicon[missing]
    write_lexicon(tmp_path / "lexicon.txt", lexicon)
    code, report = decode(run, asr_pipeline, capsys, "--no-lm", "--lexicon", str(tmp_path / "lexicon.txt"))
    assert code == 0
    assert report["oov_words"] == [missing] and report["oov_tokens"] == count
    assert report["oov_rate"] == pytest.approx(count / sum(counts.values()), abs=1e-6)
    rows = [json.loads(line) for line in (run / "decode" / "test.utterances.jsonl").read_text().splitlines()]
    assert all(missing not in r["hypothesis"].split() for r in rows)


@pytest.mark.skipif(not kenlm_available(), reason=f"KenLM's lmplz is not installed: {INSTALL_HINT}")
def test_decode_builds_the_trigram_from_the_corpus_lm_text(run, asr_pipeline, capsys, tmp_path):
    code, report = decode(run, asr_pipeline, capsys, "--lm-cache", str(tmp_path), "--lm-weight", "4")
    assert code == 0
    lm = report["word_lm"]
    assert lm["built"] and lm["options"]["order"] == 3 and set(lm["ngrams"]) == {"1", "2", "3"}
    assert Path(lm["file"]).is_file() and Path(lm["file"]).is_relative_to(tmp_path)
    assert report["search"]["lm_weight"] == 4.0


def test_a_missing_lmplz_is_a_clear_error_before_decoding(run, asr_pipeline, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    before = (run / "decode" / "test.json").stat().st_mtime_ns if (run / "decode" / "test.json").exists() else None
    code, error = decode(run, asr_pipeline, capsys, "--lm-cache", str(tmp_path / "lm"))
    assert code == 2
    assert "KenLM's lmplz is not installed" in error and "make install" in error
    after = (run / "decode" / "test.json").stat().st_mtime_ns if (run / "decode" / "test.json").exists() else None
    assert before == after


def test_align_writes_ctms_the_corpus_reader_accepts(run, asr_pipeline, capsys, tmp_path):
    out = tmp_path / "aligned"
    argv = ["asr", "align", "--model", str(run), "--corpus", str(asr_pipeline.corpus), "--out", str(out),
            "--features-cache", str(asr_pipeline.features_cache), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert json.loads((out / "align.json").read_text()) == report
    truth = load_asr_corpus(asr_pipeline.corpus, progress=False)
    aligned = load_asr_corpus(asr_pipeline.corpus, alignments=out, progress=False)  # validates the CTMs
    for split, utterances in truth.splits.items():
        assert set(aligned.alignments[split]) == {u.utt_id for u in utterances}
        parts = [phone_boundary_errors(truth.alignments[split][u.utt_id].phones,
                                       aligned.alignments[split][u.utt_id].phones) for u in utterances]  # fmt: skip
        expected = combine_boundary_errors(parts).summary()
        got = report["splits"][split]["phone_boundary_error"]
        assert got["boundaries"] == expected["boundaries"] > 0
        assert got["mean_abs_ms"] == pytest.approx(expected["mean_abs_ms"], abs=0.01)
        assert got["within_20ms"] == pytest.approx(expected["within_20ms"], abs=1e-4)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decode", "--split", "test", "--tune-split", "test"], "never on the split they are reported on"),
        (["decode", "--split", "nosuch"], "--split 'nosuch'"),
        (["decode", "--variants-from", "test"], "learned from training alignments only"),
        (["decode", "--length-penalty", "1.0"], "is a hybrid model: --length-penalty do(es) not apply"),
        (["decode", "--lm", "/nonexistent/lm.arpa"], "--lm /nonexistent/lm.arpa does not exist"),
        (["align", "--out", "CORPUS/alignments"], "lies inside the corpus folder"),
        (["align", "--out", "OUT", "--splits", "nosuch"], "--splits nosuch"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(run, asr_pipeline, capsys, tmp_path, argv, message):
    corpus = asr_pipeline.corpus
    argv = [a.replace("CORPUS", str(corpus)).replace("OUT", str(tmp_path / "out")) for a in argv]
    before = sorted(p for p in corpus.rglob("*"))
    code = main(["asr", argv[0], "--model", str(run), "--corpus", str(corpus), "--quiet",
                 "--features-cache", str(asr_pipeline.features_cache), *argv[1:]])  # fmt: skip
    assert code == 2
    assert message in capsys.readouterr().err
    assert sorted(p for p in corpus.rglob("*")) == before
    assert not (tmp_path / "out").exists()


def test_a_folder_without_a_model_is_refused(asr_pipeline, capsys, tmp_path):
    code = main(["asr", "decode", "--model", str(tmp_path), "--corpus", str(asr_pipeline.corpus), "--quiet"])
    assert code == 2
    assert "no config.json" in capsys.readouterr().err


@pytest.mark.parametrize("with_lm", [False, True])
def test_an_oracle_am_decodes_and_aligns_the_test_split(asr_pipeline, tmp_path, with_lm):
    """Senone posteriors made from the reference frame labels: the decoder must find (nearly) the transcripts and
    the aligner the reference boundaries. The synthetic alignments are not perfect HMM paths (phones shorter than
    3 frames lack states; eSpeak's phones in context can differ from the lexicon's), so the bounds leave room; a
    wrong senone -> phone-state map or spelling gives a WER near 1 and boundary errors of 100 ms and more."""
    if with_lm and not kenlm_available():
        pytest.skip(f"KenLM's lmplz is not installed: {INSTALL_HINT}")
    corpus = load_asr_corpus(asr_pipeline.corpus, progress=False)
    oracle = open_oracle(asr_pipeline.units)
    table = oracle.tree.table()
    lm = build_word_lm(corpus.lm_text, cache_dir=tmp_path).path if with_lm else None
    search = LexiconSearch(corpus.lexicon, lm, SearchOptions(lm_weight=2.0 if with_lm else 0.0))
    hypotheses, boundaries = {}, []
    for u in corpus.splits["test"]:
        log_posteriors = oracle.log_posteriors("test", u.utt_id)
        hypotheses[u.utt_id] = search.decode(oracle.token_map.emissions(log_posteriors))
        scaled = log_posteriors - oracle.log_priors
        aligned = align_utterance(u.words, corpus.lexicon, table, scaled, u.duration)
        boundaries.append(phone_boundary_errors(corpus.alignments["test"][u.utt_id].phones, aligned.alignment.phones))
    summary, _ = score_corpus({u.utt_id: u.words for u in corpus.splits["test"]}, hypotheses, corpus.lexicon)
    assert summary["wer"] <= (0.08 if with_lm else 0.3)
    errors = combine_boundary_errors(boundaries).summary()
    assert errors["mean_abs_ms"] <= 10 and errors["within_20ms"] >= 0.9
