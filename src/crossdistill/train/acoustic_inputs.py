"""What the acoustic module's front end reads for one utterance: the raw waveform or log-mel features."""

from __future__ import annotations

import torch
from torch import Tensor

from crossdistill.data.audio import read_audio


def load_acoustic_input(utterance, acoustic) -> Tensor:
    """Waveform (S,) for a SincNet front end, features (T, F) for a log-mel one, read from the utterance's audio."""
    return audio_to_acoustic_input(torch.from_numpy(read_audio(utterance.audio_path)).float(), acoustic)


def audio_to_acoustic_input(waveform: Tensor, acoustic) -> Tensor:
    """Turn a 16 kHz mono waveform (S,) into the front end's input."""
    if acoustic.input_kind == "waveform":
        return waveform
    from crossdistill.data.features import FeatureConfig, compute_features

    frontend = acoustic.config.logmel
    return compute_features(waveform, FeatureConfig(kind="logmel", n_mels=frontend.n_mels))
