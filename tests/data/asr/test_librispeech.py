"""Reading a corpus in LibriSpeech's exact layout: contents, alignments (CTM and TextGrid), lhotse, bad input."""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pytest
import soundfile

from crossdistill.data.asr.librispeech import UNFINISHED_MARKER, load_asr_corpus
from crossdistill.data.asr.phones import PHONES, SILENCE


def test_reads_every_split_utterance_and_lexicon(librispeech_tree, asr_tree):
    corpus = load_asr_corpus(librispeech_tree, progress=False)
    assert list(corpus.splits) == ["train-clean-100", "dev-clean"]
    expected = {
        split: {
            f"{spk}-{ch}-{n:04d}": text.split()
            for spk, chapters in speakers.items()
            for ch, texts in chapters.items()
            for n, text in enumerate(texts)
        }
        for split, speakers in asr_tree.TREE.items()
    }
    for split, utterances in corpus.splits.items():
        assert {u.utt_id: list(u.words) for u in utterances} == expected[split]
        for u in utterances:
            assert u.num_samples == soundfile.info(u.path).frames
            assert u.path == librispeech_tree / split / str(u.speaker) / str(u.chapter) / f"{u.utt_id}.flac"
            assert u.utt_id.startswith(f"{u.speaker}-{u.chapter}-")
            line = u.transcript.read_text().splitlines()[u.line - 1]
            assert line.split()[0] == u.utt_id
    assert corpus.lexicon["HELLO"] == ("HH", "AH", "L", "OW")  # stress digits dropped
    assert corpus.lexicon_path == librispeech_tree / "librispeech-lexicon.txt"
    assert corpus.lm_text is None and corpus.metadata is None


def test_ctm_alignments_spell_the_transcript_and_phones_tile_the_audio(librispeech_tree, asr_tree):
    corpus = load_asr_corpus(librispeech_tree, progress=False)
    assert set(corpus.alignments) == set(corpus.splits)
    for split, utterances in corpus.splits.items():
        for u in utterances:
            alignment = corpus.alignments[split][u.utt_id]
            assert tuple(w.label for w in alignment.words) == u.words
            phones = alignment.phones
            assert phones[0].start == 0 and phones[-1].end == pytest.approx(u.duration, abs=1e-9)
            assert all(a.end == b.start for a, b in itertools.pairwise(phones))
            assert all(p.label in PHONES for p in phones)
            _, raw_phones = asr_tree.fake_alignment(list(u.words))
            # Kaldi labels AH0_B -> AH; the written SIL segments stay.
            assert [p.label for p in phones] == [p.label.split("_")[0].rstrip("012") for p in raw_phones]


def test_textgrid_alignments_give_the_same_alignments_as_ctm(tmp_path, asr_tree):
    from_ctm = load_asr_corpus(asr_tree.write(tmp_path / "ctm", "ctm"), progress=False)
    from_grids = load_asr_corpus(asr_tree.write(tmp_path / "grids", "textgrid"), progress=False)
    assert from_grids.alignments.keys() == from_ctm.alignments.keys()
    for split, by_utt in from_ctm.alignments.items():
        for utt_id, alignment in by_utt.items():
            other = from_grids.alignments[split][utt_id]
            assert [w.label for w in other.words] == [w.label for w in alignment.words]
            assert [p.label for p in other.phones] == [p.label for p in alignment.phones]
            for mine, theirs in ((other.words, alignment.words), (other.phones, alignment.phones)):
                assert np.allclose([(s.start, s.end) for s in mine], [(s.start, s.end) for s in theirs], atol=1e-6)


def test_gaps_in_a_phone_ctm_become_silence(librispeech_tree):
    path = librispeech_tree / "alignments" / "dev-clean.phones.ctm"
    lines = path.read_text().splitlines(keepends=True)
    # Drop every SIL line (as an aligner that writes no silence would).
    path.write_text("".join(line for line in lines if not line.rstrip().endswith(" SIL")))
    corpus = load_asr_corpus(librispeech_tree, progress=False)
    for u in corpus.splits["dev-clean"]:
        phones = corpus.alignments["dev-clean"][u.utt_id].phones
        assert phones[0].label == SILENCE and phones[-1].label == SILENCE
        assert phones[-1].end == pytest.approx(u.duration)
        assert all(a.end == b.start for a, b in itertools.pairwise(phones))


def test_to_lhotse_matches_prepare_librispeech_and_carries_alignments(librispeech_tree):
    from lhotse.recipes.librispeech import prepare_librispeech

    corpus = load_asr_corpus(librispeech_tree, progress=False)
    reference = prepare_librispeech(librispeech_tree, dataset_parts=["dev-clean"], num_jobs=1)["dev-clean"]
    cuts = corpus.to_lhotse("dev-clean")
    ours = {c.id: c for c in cuts}
    assert set(ours) == {r.id for r in reference["recordings"]}
    for recording in reference["recordings"]:
        mine = ours[recording.id].recording
        assert (mine.num_samples, mine.duration, mine.sampling_rate) == (
            recording.num_samples,
            recording.duration,
            recording.sampling_rate,
        )
        assert mine.sources[0].source == recording.sources[0].source
    for supervision in reference["supervisions"]:
        mine = ours[supervision.id].supervisions[0]
        assert (mine.text, mine.speaker, mine.duration) == (supervision.text, supervision.speaker, supervision.duration)
        alignment = corpus.alignments["dev-clean"][supervision.id]
        assert [a.symbol for a in mine.alignment["word"]] == [w.label for w in alignment.words]
        assert [a.symbol for a in mine.alignment["phone"]] == [p.label for p in alignment.phones]
    audio = ours[reference["recordings"][0].id].load_audio()
    assert audio.shape == (1, reference["recordings"][0].num_samples)


def test_fingerprint_is_stable_and_follows_transcripts_and_lexicon(librispeech_tree):
    first = load_asr_corpus(librispeech_tree, progress=False)
    assert load_asr_corpus(librispeech_tree, progress=False).fingerprint() == first.fingerprint()
    lexicon = librispeech_tree / "librispeech-lexicon.txt"
    lexicon.write_text(lexicon.read_text() + "EXTRA\tEH K S\n")
    changed = load_asr_corpus(librispeech_tree, progress=False)
    assert changed.fingerprint() != first.fingerprint()
    assert changed.fingerprint_parts()["audio"] == first.fingerprint_parts()["audio"]
    assert changed.fingerprint_parts()["lexicon"] != first.fingerprint_parts()["lexicon"]


def test_splits_can_be_chosen_and_extra_files_are_optional(librispeech_tree, tmp_path):
    corpus = load_asr_corpus(librispeech_tree, splits=["dev-clean"], progress=False)
    assert list(corpus.splits) == ["dev-clean"]
    shutil.rmtree(librispeech_tree / "alignments")
    (librispeech_tree / "librispeech-lexicon.txt").unlink()
    bare = load_asr_corpus(librispeech_tree, progress=False)
    assert bare.lexicon is None and bare.alignments == {}
    with pytest.raises(FileNotFoundError, match=r"--lexicon .*missing.txt does not exist"):
        load_asr_corpus(librispeech_tree, lexicon=tmp_path / "missing.txt", progress=False)
    with pytest.raises(FileNotFoundError, match=r"dev-other.* do not exist"):
        load_asr_corpus(librispeech_tree, splits=["dev-other"], progress=False)


# Each case breaks one thing in a valid tree: (what to do, substrings the error must contain).
def _delete_flac(root):
    (root / "train-clean-100/103/1240/103-1240-0001.flac").unlink()


def _corrupt_flac(root):
    (root / "train-clean-100/103/1240/103-1240-0001.flac").write_bytes(b"fLaC but not really")


def _drop_transcript_line(root):
    path = root / "train-clean-100/103/1240/103-1240.trans.txt"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[2])


def _word_not_in_lexicon(root):
    path = root / "dev-clean/1272/128104/1272-128104.trans.txt"
    path.write_text(path.read_text().replace("BONE WORLD HELLO", "BONE WORLD HULLO"))


def _phone_past_the_end(root):
    path = root / "alignments/dev-clean.phones.ctm"
    lines = path.read_text().splitlines()
    utt, channel, start, _, label = lines[-1].split()
    lines[-1] = f"{utt} {channel} {start} 0.500 {label}"
    path.write_text("\n".join(lines) + "\n")


def _word_not_the_transcript(root):
    path = root / "alignments/train-clean-100.words.ctm"
    path.write_text(
        path.read_text().replace("1034-121119-0000 1 0.430 0.310 SAT", "1034-121119-0000 1 0.430 0.310 MAT")
    )


def _empty_split(root):
    (root / "dev-other").mkdir()


def _shared_speaker(root):
    shutil.copytree(root / "dev-clean/1272", root / "train-clean-100/1272")


def _eight_khz(root):
    path = root / "dev-clean/1272/128104/1272-128104-0001.flac"
    soundfile.write(path, np.zeros(8000), 8000, subtype="PCM_16")


def _bad_utterance_id(root):
    path = root / "dev-clean/1272/128104/1272-128104.trans.txt"
    path.write_text(path.read_text() + "1272-999-0007 THE CAT\n")


def _duplicate_id(root):
    path = root / "dev-clean/1272/128104/1272-128104.trans.txt"
    path.write_text(path.read_text() + "1272-128104-0000 THE CAT\n")


def _lower_case_word(root):
    path = root / "dev-clean/1272/128104/1272-128104.trans.txt"
    path.write_text(path.read_text().replace("THE CAT", "THE cat"))


def _missing_phone_ctm(root):
    (root / "alignments/dev-clean.phones.ctm").unlink()


def _unknown_phone(root):
    path = root / "alignments/dev-clean.phones.ctm"
    path.write_text(path.read_text().replace(" K_B", " QQ_B", 1))


def _unaligned_utterance(root):
    path = root / "alignments/dev-clean.words.ctm"
    path.write_text("".join(line for line in path.read_text().splitlines(True) if "-0001 " not in line))


def _malformed_ctm(root):
    path = root / "alignments/dev-clean.words.ctm"
    path.write_text(path.read_text() + "1272-128104-0000 1 abc 0.1 THE\n")


def _broken_metadata(root):
    (root / "corpus.json").write_text("{")


BAD_TREES = {
    "missing flac": (_delete_flac, ["103-1240.trans.txt, line 2", "103-1240-0001 has no audio"]),
    "corrupt flac": (_corrupt_flac, ["103-1240-0001.flac: unreadable audio"]),
    "audio with no transcript": (_drop_transcript_line, ["103-1240-0001.flac: audio with no transcript"]),
    "word not in lexicon": (_word_not_in_lexicon, ["1272-128104.trans.txt, line 2", "'HULLO' is not in the lexicon"]),
    "alignment past the end": (_phone_past_the_end, ["dev-clean.phones.ctm, line 20", "after the end of the audio"]),
    "alignment not the transcript": (
        _word_not_the_transcript,
        ["words.ctm, line 10: 1034-121119-0000", "do not match the transcript"],
    ),
    "empty split": (_empty_split, ["dev-other: empty split"]),
    "shared speaker": (_shared_speaker, ["speaker 1272 is in both train-clean-100 and dev-clean"]),
    "8 kHz audio": (_eight_khz, ["1272-128104-0001.flac: 8000 Hz, 1 channel(s); expected 16000 Hz mono"]),
    "bad utterance id": (_bad_utterance_id, ["trans.txt, line 3", "'1272-999-0007' is not 1272-128104-<number>"]),
    "duplicate id": (_duplicate_id, ["trans.txt, line 3", "1272-128104-0000 is already on line 1"]),
    "lower-case word": (_lower_case_word, ["trans.txt, line 1", "'cat' is not upper-case"]),
    "words without phones": (_missing_phone_ctm, ["dev-clean.words.ctm: found without dev-clean.phones.ctm"]),
    "unknown phone": (_unknown_phone, ["dev-clean.phones.ctm, line 4", "'QQ_B' is not one of the 41 phones"]),
    "utterance not aligned": (_unaligned_utterance, ["dev-clean.words.ctm: no alignment for 1272-128104-0001"]),
    "malformed ctm": (_malformed_ctm, ["dev-clean.words.ctm, line 6", "'abc'"]),
    "broken corpus.json": (_broken_metadata, ["corpus.json: not valid JSON"]),
}


@pytest.mark.parametrize("case", list(BAD_TREES))
def test_bad_input_is_a_clear_error_naming_file_and_line_and_nothing_is_written(librispeech_tree, asr_tree, case):
    breaker, messages = BAD_TREES[case]
    breaker(librispeech_tree)
    before = asr_tree.snapshot(librispeech_tree)
    with pytest.raises(ValueError) as caught:
        load_asr_corpus(librispeech_tree, progress=False)
    for message in messages:
        assert message in str(caught.value)
    assert asr_tree.snapshot(librispeech_tree) == before


def test_problems_are_listed_together(librispeech_tree):
    _delete_flac(librispeech_tree)
    _bad_utterance_id(librispeech_tree)
    with pytest.raises(ValueError, match="2 problems") as caught:
        load_asr_corpus(librispeech_tree, progress=False)
    assert "has no audio" in str(caught.value) and "is not 1272-128104-<number>" in str(caught.value)


def test_bad_textgrids(tmp_path, asr_tree):
    root = asr_tree.write(tmp_path / "grids", "textgrid")
    grid = root / "alignments/1272/1272-128104-0000.TextGrid"
    grid.write_text(grid.read_text().replace('name = "phones"', 'name = "segments"'))
    with pytest.raises(ValueError, match=r"1272-128104-0000.TextGrid: expected one interval tier named 'phones'"):
        load_asr_corpus(root, progress=False)
    (root / "alignments/1272/1272-128104-0000.TextGrid").unlink()
    with pytest.raises(ValueError, match=r"split dev-clean: 1 utterance.* no TextGrid, e.g. 1272-128104-0000"):
        load_asr_corpus(root, progress=False)
    shutil.copy(root / "alignments/1272/1272-128104-0001.TextGrid", root / "alignments/1272/1272-128104-0000.TextGrid")
    with pytest.raises(ValueError, match=r"1272-128104-0000.TextGrid \(words tier\).*do not match the transcript"):
        load_asr_corpus(root, progress=False)


def test_unfinished_synthesis_and_missing_root_are_refused(librispeech_tree, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_asr_corpus(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no split folder"):
        load_asr_corpus(librispeech_tree / "alignments")
    (librispeech_tree / UNFINISHED_MARKER).mkdir()
    with pytest.raises(ValueError, match="unfinished synthesis"):
        load_asr_corpus(librispeech_tree, progress=False)
