"""Prediction with a trained student: audio files in, action/object/location with probabilities out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

from crossdistill.data.audio import read_audio
from crossdistill.data.corpus import LabelSet
from crossdistill.students.intent import SLOT_HEADS
from crossdistill.students.serialization import read_json
from crossdistill.students.slu import SLUStudent
from crossdistill.train.acoustic_inputs import audio_to_acoustic_input


class Predictor:
    """A trained student (``<run>/model``) with its label set."""

    def __init__(self, model_dir: str | Path) -> None:
        model_dir = Path(model_dir)
        if (model_dir / "model").is_dir() and not (model_dir / "config.json").is_file():
            model_dir = model_dir / "model"  # accept the run folder as well
        self.student = SLUStudent.from_pretrained(model_dir).eval()
        self.labels = LabelSet.from_dict(read_json(model_dir / "labels.json"))
        self.supervised = read_json(model_dir / "task.json")["supervised"]

    def predict_file(self, path: str | Path) -> dict:
        """``{"file", "action", "object", "location", "<slot>_probability" for each slot, "intent_probability"}``
        (see :meth:`describe`)."""
        path = Path(path)
        try:
            waveform = torch.from_numpy(read_audio(path)).float()
        except Exception as error:
            raise ValueError(f"cannot read audio file {path}: {error}") from error
        probabilities = self.probabilities([audio_to_acoustic_input(waveform, self.student.acoustic)])
        return {"file": str(path), **self.describe(probabilities, 0)}

    @torch.no_grad()
    def probabilities(self, inputs: list[Tensor]) -> dict[str, Tensor]:
        """Each head's class probabilities ``(N, C)`` for front-end inputs (waveforms ``(S,)`` or log-mels
        ``(T, F)``), run as one zero-padded batch."""
        lengths = torch.tensor([x.shape[0] for x in inputs])
        padded = torch.nn.utils.rnn.pad_sequence(inputs, batch_first=True)
        logits = self.student.classify(*self.student.encode(padded, lengths))
        return {head: values.double().softmax(-1) for head, values in logits.items()}

    def describe(self, probabilities: dict[str, Tensor], row: int) -> dict:
        """The prediction of batch row ``row``: each slot's value and probability, and the intent's probability.

        An intent model (one head over the intents) predicts the most probable intent; each slot's probability is
        the total probability of the intents that share the predicted value (the slot's marginal). A slot model
        predicts each slot with its own head; ``intent_probability`` is then the product of the three (the heads
        are independent given the audio).
        """
        result: dict = {}
        if self.supervised == "intent":
            probs = probabilities["intent"][row]
            best = self.labels.intents[int(probs.argmax())]
            for k, (slot, value) in enumerate(zip(SLOT_HEADS, best, strict=True)):
                result[slot] = value
                sharing = [i for i, intent in enumerate(self.labels.intents) if intent[k] == value]
                result[f"{slot}_probability"] = float(probs[sharing].sum())
            result["intent_probability"] = float(probs.max())
        else:
            joint = 1.0
            for slot in SLOT_HEADS:
                probs = probabilities[slot][row]
                result[slot] = self.labels.slot_values(slot)[int(probs.argmax())]
                result[f"{slot}_probability"] = float(probs.max())
                joint *= float(probs.max())
            result["intent_probability"] = joint
        return result


def predict_files(model_dir: str | Path, paths: list[str | Path]) -> Iterator[tuple[dict, bool]]:
    """One ``(record, ok)`` per file, in order: the prediction, or ``{"file", "error"}`` when the file cannot be
    read or classified (the others are still predicted)."""
    predictor = Predictor(model_dir)
    for path in paths:
        try:
            yield predictor.predict_file(path), True
        except (ValueError, RuntimeError, OSError) as error:
            yield {"file": str(path), "error": str(error)}, False
