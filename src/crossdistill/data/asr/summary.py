"""What ``crossdistill asr data info`` prints about a validated corpus, and the optional full audio decode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from crossdistill.data.asr.librispeech import AsrCorpus


def _text_counts(path: Path | None, lexicon: dict | None) -> dict[str, Any] | None:
    """Sentences, words and (with a lexicon) out-of-lexicon word rate of a text file, read line by line."""
    if path is None:
        return None
    sentences = words = oov = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            tokens = line.split()
            if tokens:
                sentences += 1
                words += len(tokens)
                if lexicon is not None:
                    oov += sum(token not in lexicon for token in tokens)
    result: dict[str, Any] = {"path": str(path), "sentences": sentences, "words": words}
    if lexicon is not None:
        result["oov_rate"] = round(oov / words, 6) if words else 0.0
    return result


def summarize_corpus(corpus: AsrCorpus) -> dict[str, Any]:
    """A JSON-ready summary: per split speakers, utterances, hours, words, OOV rate, alignments; side files."""
    lexicon = corpus.lexicon
    splits = {}
    for split, utterances in corpus.splits.items():
        tokens = [w for u in utterances for w in u.words]
        entry: dict[str, Any] = {
            "speakers": len({u.speaker for u in utterances}),
            "chapters": len({u.chapter for u in utterances}),
            "utterances": len(utterances),
            "hours": round(sum(u.num_samples for u in utterances) / 16000 / 3600, 4),
            "words": len(tokens),
            "vocabulary": len(set(tokens)),
            "alignments": split in corpus.alignments,
        }
        if lexicon is not None:
            entry["oov_rate"] = round(sum(t not in lexicon for t in tokens) / len(tokens), 6)
        splits[split] = entry
    summary: dict[str, Any] = {
        "root": str(corpus.root),
        "kind": "synthetic" if corpus.metadata is not None else "librispeech",
        "splits": splits,
        "lexicon": None if lexicon is None else {"path": str(corpus.lexicon_path), "words": len(lexicon)},
        "lm_text": _text_counts(corpus.lm_text, lexicon),
        "lm_valid": _text_counts(corpus.lm_valid, lexicon),
        "alignment_files": [str(p) for p in corpus.alignment_files],
        "fingerprint": corpus.fingerprint(),
    }
    if corpus.metadata is not None:
        options = corpus.metadata.get("options", {})
        summary["synthesis"] = {
            "preset": options.get("preset"),
            "seed": options.get("seed"),
            "text_source": options.get("text_source"),
            "dropped_utterances": len(corpus.metadata.get("dropped", [])),
        }
    return summary


def decode_all(corpus: AsrCorpus, progress: bool = True) -> None:
    """Decode every audio file (``ValueError`` naming the first that is truncated or corrupt)."""
    from crossdistill.data.asr.features import read_samples

    for utterance in tqdm(corpus.utterances(), desc="decoding", unit="file", disable=None if progress else True):
        read_samples(utterance)
