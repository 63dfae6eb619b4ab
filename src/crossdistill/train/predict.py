"""Prediction with a trained student: audio files in, action/object/location with probabilities out."""

from __future__ import annotations

import json
from pathlib import Path

import torch

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

    @torch.no_grad()
    def predict_file(self, path: str | Path) -> dict:
        path = Path(path)
        try:
            waveform = torch.from_numpy(read_audio(path)).float()
        except Exception as error:
            raise ValueError(f"cannot read audio file {path}: {error}") from error
        inputs = audio_to_acoustic_input(waveform, self.student.acoustic).unsqueeze(0)
        logits = self.student.classify(*self.student.encode(inputs, torch.tensor([inputs.shape[1]])))
        result = {"file": str(path)}
        if self.supervised == "intent":
            probs = logits["intent"].softmax(-1)[0]
            best = int(probs.argmax())
            for slot, value in zip(SLOT_HEADS, self.labels.intents[best], strict=True):
                result[slot] = value
            result["probability"] = float(probs[best])
        else:
            for slot in SLOT_HEADS:
                probs = logits[slot].softmax(-1)[0]
                best = int(probs.argmax())
                result[slot] = self.labels.slot_values(slot)[best]
                result[f"{slot}_probability"] = float(probs[best])
        return result


def predict_files(model_dir: str | Path, paths: list[str | Path]) -> list[str]:
    """JSON lines, one per file."""
    predictor = Predictor(model_dir)
    return [json.dumps(predictor.predict_file(path)) for path in paths]
