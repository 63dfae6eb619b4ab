"""Options of ``crossdistill asr units`` (light to import: the CLI reads its defaults from here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UnitsOptions:
    """Options of ``crossdistill asr units``; every one enters the key.

    senones: leaves of the senone tree (K; paper 001: 4,160 for 100 h of LibriSpeech; our default 1,000 for a few
      hours of audio, see docs/asr-units.md). subwords: sentencepiece unigram vocabulary (V, specials included;
      paper 001: 5,000 on LibriSpeech's 800M-word LM text; ours 1,000). min_leaf_frames: fewest training frames
      a tree leaf may hold. seed: picks the subword training sentences when the LM text has more than
      subword_max_sentences. train_split: the AM training split (tree statistics); dev_split: the split whose
      transcripts become ``lm/{unit}.dev.txt``.
    """

    senones: int = 1000
    subwords: int = 1000
    min_leaf_frames: int = 100
    seed: int = 0
    subword_max_sentences: int = 2_000_000
    train_split: str = "train"
    dev_split: str = "dev"

    def check(self) -> None:
        from crossdistill.data.asr.phones import PHONES

        roots = len(PHONES) * 3
        if self.senones < roots:
            raise ValueError(f"--senones must be at least {roots} (one per phone state), got {self.senones}")
        if self.subwords < 5:
            raise ValueError(f"--subwords must be at least 5 (4 special pieces + 1), got {self.subwords}")
        if self.min_leaf_frames < 1:
            raise ValueError(f"--min-leaf-frames must be >= 1, got {self.min_leaf_frames}")
        if self.subword_max_sentences < 1:
            raise ValueError(f"subword_max_sentences must be >= 1, got {self.subword_max_sentences}")
