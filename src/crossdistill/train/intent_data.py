"""Batches for intent-module training: labels and the teacher's cached tensors, with the student's input.

The input is either the frozen acoustic module's cached outputs (:class:`EncodedIntentDataset`, the default:
each run trains only the intent module) or the audio itself (:class:`AudioIntentDataset`: log-mels or the
waveform, for runs that fine-tune part of the acoustic module).
"""

from __future__ import annotations

from collections.abc import Callable

import lightning.pytorch as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from crossdistill.data.corpus import Corpus
from crossdistill.data.loading import SpeechDataset, collate_speech
from crossdistill.students.intent import SLOT_HEADS
from crossdistill.train.encoded_cache import EncodedSplit

TEACHER_PREFIX = "teacher/"


class EncodedIntentDataset(Dataset):
    """One item per utterance: its encoded frames, its labels and the teacher tensors named by the objective.

    teacher_lookup: ``utt_ids -> {key: tensor (N, ...)}`` (the teacher cache), or None for vanilla runs.
    """

    def __init__(
        self,
        corpus: Corpus,
        split: str,
        encoded: EncodedSplit,
        teacher_lookup: Callable[[list[str]], dict[str, Tensor]] | None = None,
    ) -> None:
        utterances = corpus.splits[split]
        if [u.utt_id for u in utterances] != encoded.utt_ids:
            raise ValueError(f"the acoustic-output cache of split {split!r} does not list the corpus' utterances")
        labels = corpus.labels
        self.encoded = encoded
        self.utt_ids = encoded.utt_ids
        self.intent = torch.tensor([labels.encode_intent(u) for u in utterances], dtype=torch.long)
        self.slots = torch.tensor([labels.encode_slots(u) for u in utterances], dtype=torch.long)
        self.teacher = teacher_lookup(self.utt_ids) if teacher_lookup is not None else {}

    def __len__(self) -> int:
        return len(self.utt_ids)

    def __getitem__(self, i: int) -> dict:
        item = {
            "utt_id": self.utt_ids[i],
            "encoded": self.encoded.get(i),
            "intent": self.intent[i],
            "slots": self.slots[i],
        }
        for key, values in self.teacher.items():
            item[TEACHER_PREFIX + key] = values[i]
        return item


class AudioIntentDataset(Dataset):
    """The data layer's items (log-mels or waveform, intent and slot labels) plus the teacher tensors.

    teacher_lookup: as for :class:`EncodedIntentDataset`.
    """

    def __init__(
        self, speech: SpeechDataset, teacher_lookup: Callable[[list[str]], dict[str, Tensor]] | None = None
    ) -> None:
        self.speech = speech
        self.utt_ids = [u.utt_id for u in speech.utterances]
        self.teacher = teacher_lookup(self.utt_ids) if teacher_lookup is not None else {}

    def __len__(self) -> int:
        return len(self.speech)

    def __getitem__(self, i: int) -> dict:
        item = self.speech[i]
        for key, values in self.teacher.items():
            item[TEACHER_PREFIX + key] = values[i]
        return item


def collate_audio(items: list[dict]) -> dict:
    """The data layer's padding (``collate_speech``), plus the stacked teacher tensors."""
    batch = collate_speech(items)
    for key in items[0]:
        if key.startswith(TEACHER_PREFIX):
            batch[key] = torch.stack([item[key] for item in items])
    return batch


def collate_encoded(items: list[dict]) -> dict:
    """Pad the encoded frames; stack everything else."""
    frames = [item["encoded"] for item in items]
    batch = {
        "utt_id": [item["utt_id"] for item in items],
        "encoded": torch.nn.utils.rnn.pad_sequence(frames, batch_first=True),
        "encoded_lengths": torch.tensor([f.shape[0] for f in frames], dtype=torch.long),
    }
    for key in items[0]:
        if key not in batch and key != "utt_id":
            batch[key] = torch.stack([item[key] for item in items])
    return batch


def batch_targets(batch: dict, supervised: str) -> dict[str, Tensor]:
    """Targets of the supervised heads: ``{"intent": (B,)}`` or one (B,) tensor per slot."""
    if supervised == "intent":
        return {"intent": batch["intent"]}
    return {slot: batch["slots"][:, k] for k, slot in enumerate(SLOT_HEADS)}


def teacher_tensors(batch: dict) -> dict[str, Tensor]:
    return {key[len(TEACHER_PREFIX) :]: value for key, value in batch.items() if key.startswith(TEACHER_PREFIX)}


class IntentDataModule(pl.LightningDataModule):
    """Train/valid/test loaders over intent datasets (cached acoustic outputs or audio; ``collate`` pads them).

    Validation runs two loaders, valid then test, so that every epoch logs both errors: the checkpoint is chosen
    on valid and the test error of that same epoch is reported. Under DDP the training loader shards the data with
    a DistributedSampler seeded by the run's seed (the Trainer's automatic sampler is switched off).

    One process shuffles with one generator for the whole run (each epoch draws from where the last left off); its
    state is part of the checkpoint (``state_dict``), so a resumed run shuffles as the uninterrupted one does.
    """

    def __init__(
        self,
        datasets: dict[str, EncodedIntentDataset],
        batch_size: int,
        num_workers: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        collate: Callable[[list[dict]], dict] = collate_encoded,
    ):
        super().__init__()
        self.collate = collate
        self.shuffle = shuffle
        self.datasets = datasets
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    def state_dict(self) -> dict:
        return {"shuffle_generator": self.generator.get_state()}

    def load_state_dict(self, state_dict: dict) -> None:
        if "shuffle_generator" in state_dict:
            self.generator.set_state(state_dict["shuffle_generator"])

    def _loader(self, split: str, shuffle: bool, distributed: bool = False) -> DataLoader:
        dataset = self.datasets[split]
        trainer = self.trainer
        if distributed and trainer is not None and trainer.world_size > 1:
            # Our own sampler (the Trainer's automatic one always shuffles): each process takes every
            # world_size-th item, so an unshuffled DDP run sees exactly the batches of one large-batch process.
            sampler = DistributedSampler(
                dataset, num_replicas=trainer.world_size, rank=trainer.global_rank, shuffle=shuffle, seed=self.seed
            )
            shuffle, generator = False, None
        else:
            sampler = None
            generator = self.generator if shuffle else None
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            sampler=sampler,
            generator=generator,
            num_workers=self.num_workers,
            collate_fn=self.collate,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=self.shuffle, distributed=True)

    def val_dataloader(self) -> list[DataLoader]:
        # Every process evaluates the whole valid and test sets: errors are exact, with no padded duplicates.
        return [self._loader("valid", shuffle=False), self._loader("test", shuffle=False)]
