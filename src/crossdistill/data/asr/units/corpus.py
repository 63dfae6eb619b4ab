"""The units' inputs from a corpus folder: CORPUS's validated reader and its cached 80-dim fbank features."""

from __future__ import annotations

import os
from pathlib import Path

from crossdistill.data.asr.frames import num_frames
from crossdistill.data.asr.librispeech import AsrCorpus, load_asr_corpus
from crossdistill.data.asr.units.build import UnitsInputs, Utterance


def units_inputs(
    corpus: AsrCorpus | str | os.PathLike,
    features_cache: str | os.PathLike | None = None,
    progress: bool = True,
) -> UnitsInputs:
    """What ``build_units`` needs from ``corpus`` (a folder, read and validated here, or a loaded ``AsrCorpus``).

    Only splits with alignments take part (a LibriSpeech tree may hold unaligned splits). The identity is the
    corpus reader's fingerprints (audio list, transcripts, lexicon, LM text, alignment files) and the feature
    settings. Features are computed (or read from their cache) only when the tree asks for them.
    """
    from crossdistill.data.asr.features import FbankSettings, load_or_compute_fbank

    if not isinstance(corpus, AsrCorpus):
        corpus = load_asr_corpus(corpus, progress=progress)
    root = corpus.root
    if corpus.lexicon is None:
        raise FileNotFoundError(f"corpus {root}: no lexicon (lexicon.txt or librispeech-lexicon.txt)")
    for name, path in (
        ("LM-train text (lm/text.txt)", corpus.lm_text),
        ("LM valid text (lm/valid.txt)", corpus.lm_valid),
    ):
        if path is None:
            raise FileNotFoundError(f"corpus {root}: no {name}")
    aligned = [split for split in corpus.splits if split in corpus.alignments]
    if not aligned:
        raise FileNotFoundError(f"corpus {root}: no alignments (alignments/{{split}}.phones.ctm and .words.ctm)")
    settings = FbankSettings()

    def features(split: str, utt_ids: list[str]):
        packed = load_or_compute_fbank(corpus, settings, features_cache, progress)[split]
        return (packed.get(utt_id) for utt_id in utt_ids)

    return UnitsInputs(
        splits={
            split: [Utterance(u.utt_id, num_frames(u.num_samples), u.words) for u in corpus.splits[split]]
            for split in aligned
        },
        phones={split: {utt: list(a.phones) for utt, a in corpus.alignments[split].items()} for split in aligned},
        words={split: {utt: list(a.words) for utt, a in corpus.alignments[split].items()} for split in aligned},
        lexicon=corpus.lexicon,
        lm_train=Path(corpus.lm_text),
        lm_valid=Path(corpus.lm_valid),
        features=features,
        identity={"corpus": corpus.fingerprint_parts(), "features": settings.to_dict()},
    )
