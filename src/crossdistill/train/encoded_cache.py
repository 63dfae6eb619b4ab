"""Outputs of the frozen acoustic module, computed once per corpus and checkpoint and cached on disk.

"The pre-trained module equals for all the implementations" (paper 000): every distillation run shares one
frozen acoustic module, so what it produces for each utterance is a constant. Caching it means each run of the
Table I grid trains only the small intent module.

Layout: ``<cache_root>/<key>/<split>.safetensors`` holding the frames of every utterance concatenated into one
``(sum T, D)`` tensor plus ``lengths``; ``<split>.json`` lists the utterance ids in the same order. The key hashes
the acoustic weights, what the intent module reads, and the corpus (audio list and labels), so a changed
checkpoint or corpus never reuses a stale cache. Files are written atomically; ``complete.json`` is written last
and a cache folder without it is ignored.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor
from tqdm.auto import tqdm

from crossdistill.common import atomic_path, atomic_write_text, fingerprint, fingerprint_file
from crossdistill.common.progress import show_progress
from crossdistill.data.corpus import Corpus, Utterance
from crossdistill.data.features import FeatureSplit
from crossdistill.train.acoustic_inputs import load_acoustic_input

SPLITS = ("train", "valid", "test")
FORMAT_VERSION = 1


class EncodedSplit(FeatureSplit):
    """The cached acoustic outputs of one split, packed as the feature cache packs log-mels: per-utterance
    ``(T_i, D)`` slices of one float32 ``(sum T_i, D)`` tensor."""

    @property
    def frames(self) -> Tensor:
        return self.features


def cache_key(acoustic_dir: Path, corpus: Corpus, intent_input: str) -> str:
    weights = next(iter(sorted(Path(acoustic_dir).glob("*.safetensors"))), None)
    if weights is None:
        raise FileNotFoundError(f"no *.safetensors weights in the acoustic module folder {acoustic_dir}")
    return fingerprint(
        {
            "format": FORMAT_VERSION,
            "acoustic_weights": fingerprint_file(weights),
            "acoustic_config": fingerprint_file(Path(acoustic_dir) / "config.json"),
            "corpus": corpus.fingerprint(),
            "intent_input": intent_input,
        }
    )


@torch.no_grad()
def encode_utterances(student, utterances: list[Utterance], batch_size: int = 16, desc: str = "") -> EncodedSplit:
    """Run the (frozen, eval-mode) acoustic module on every utterance; returns their encoded frames."""
    acoustic = student.acoustic
    device = next(acoustic.parameters()).device
    was_training = acoustic.training
    acoustic.eval()
    chunks, lengths = [], []
    order = sorted(range(len(utterances)), key=lambda i: utterances[i].audio_path.stat().st_size)
    encoded_by_index: dict[int, Tensor] = {}
    for start in tqdm(
        range(0, len(order), batch_size), desc=f"encode {desc}", leave=False, disable=not show_progress()
    ):
        batch_idx = order[start : start + batch_size]
        inputs = [load_acoustic_input(utterances[i], acoustic) for i in batch_idx]
        in_lengths = torch.tensor([x.shape[0] for x in inputs])
        padded = torch.nn.utils.rnn.pad_sequence(inputs, batch_first=True).to(device)
        encoded, out_lengths = student.encode(padded, in_lengths.to(device))
        for row, i in enumerate(batch_idx):
            encoded_by_index[i] = encoded[row, : int(out_lengths[row])].float().cpu()
    acoustic.train(was_training)
    for i in range(len(utterances)):
        chunks.append(encoded_by_index[i])
        lengths.append(chunks[-1].shape[0])
    frames = torch.cat(chunks) if chunks else torch.zeros(0, student.encoded_dim)
    return EncodedSplit([u.utt_id for u in utterances], frames.contiguous(), torch.tensor(lengths, dtype=torch.long))


def build_encoded_cache(
    student, acoustic_dir: Path, corpus: Corpus, cache_root: Path, batch_size: int = 16
) -> dict[str, EncodedSplit]:
    """Load the cache for this acoustic module and corpus, computing and writing it first if needed."""
    key = cache_key(acoustic_dir, corpus, student.config.intent_input)
    folder = Path(cache_root) / key
    if (folder / "complete.json").is_file():
        return load_encoded_cache(folder)
    for split in SPLITS:
        encoded = encode_utterances(student, corpus.splits[split], batch_size, desc=split)
        with atomic_path(folder / f"{split}.safetensors") as tmp:
            save_file({"frames": encoded.frames, "lengths": encoded.lengths}, str(tmp))
        atomic_write_text(folder / f"{split}.json", json.dumps(encoded.utt_ids))
    atomic_write_text(folder / "complete.json", json.dumps({"key": key, "acoustic": str(acoustic_dir)}))
    return load_encoded_cache(folder)


def load_encoded_cache(folder: Path) -> dict[str, EncodedSplit]:
    folder = Path(folder)
    if not (folder / "complete.json").is_file():
        raise FileNotFoundError(f"{folder} is not a complete acoustic-output cache (no complete.json)")
    splits = {}
    for split in SPLITS:
        tensors = load_file(str(folder / f"{split}.safetensors"))
        utt_ids = json.loads((folder / f"{split}.json").read_text())
        splits[split] = EncodedSplit(utt_ids, tensors["frames"], tensors["lengths"])
    return splits
