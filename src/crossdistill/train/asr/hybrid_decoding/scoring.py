"""Word error rate (jiwer) with substitutions, deletions and insertions, per utterance and in total; OOV rate."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class UtteranceErrors:
    """One utterance: its reference and hypothesis words, the edit counts, and its out-of-vocabulary words."""

    utt_id: str
    reference: tuple[str, ...]
    hypothesis: tuple[str, ...]
    substitutions: int
    deletions: int
    insertions: int
    oov: tuple[str, ...]

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def to_dict(self) -> dict:
        return {**asdict(self), "reference": " ".join(self.reference), "hypothesis": " ".join(self.hypothesis)}


def score_utterance(
    utt_id: str, reference: Sequence[str], hypothesis: Sequence[str], vocabulary: Collection[str]
) -> UtteranceErrors:
    """Edit counts of ``hypothesis`` against ``reference`` (jiwer's minimum-edit alignment); ``vocabulary`` is the
    lexicon's words, for the OOV count."""
    import jiwer

    if not reference:
        raise ValueError(f"{utt_id}: empty reference transcript")
    output = jiwer.process_words(" ".join(reference), " ".join(hypothesis) if hypothesis else "")
    oov = tuple(word for word in reference if word not in vocabulary)
    return UtteranceErrors(
        utt_id, tuple(reference), tuple(hypothesis), output.substitutions, output.deletions, output.insertions, oov
    )


def summarize_errors(utterances: Sequence[UtteranceErrors]) -> dict:
    """Corpus-level WER (errors / reference words, pooled over utterances), its parts, and the OOV rate."""
    words = sum(len(u.reference) for u in utterances)
    if not words:
        raise ValueError("no reference words to score")
    totals = {key: sum(getattr(u, key) for u in utterances) for key in ("substitutions", "deletions", "insertions")}
    oov_tokens = [word for u in utterances for word in u.oov]
    return {
        "wer": round(sum(totals.values()) / words, 6),
        **totals,
        "reference_words": words,
        "utterances": len(utterances),
        "sentence_error_rate": round(sum(u.errors > 0 for u in utterances) / len(utterances), 6),
        "oov_rate": round(len(oov_tokens) / words, 6),
        "oov_tokens": len(oov_tokens),
        "oov_words": sorted(set(oov_tokens)),
    }


def score_corpus(
    references: Mapping[str, Sequence[str]], hypotheses: Mapping[str, Sequence[str]], vocabulary: Collection[str]
) -> tuple[dict, list[UtteranceErrors]]:
    """Score every utterance of ``references`` (a hypothesis missing for one is an error naming it)."""
    missing = [utt for utt in references if utt not in hypotheses]
    if missing:
        raise ValueError(f"no hypothesis for {len(missing)} utterance(s), e.g. {missing[0]}")
    rows = [score_utterance(utt, words, hypotheses[utt], vocabulary) for utt, words in references.items()]
    return summarize_errors(rows), rows
