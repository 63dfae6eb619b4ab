"""What the acoustic module's front end reads for one utterance: the raw waveform or log-mel features."""

from __future__ import annotations

import torch
from torch import Tensor

from crossdistill.data.audio import read_audio
from crossdistill.data.features import FeatureConfig


def load_acoustic_input(utterance, acoustic) -> Tensor:
    """Waveform (S,) for a SincNet front end, features (T, F) for a log-mel one, read from the utterance's audio."""
    return audio_to_acoustic_input(torch.from_numpy(read_audio(utterance.audio_path)).float(), acoustic)


def audio_to_acoustic_input(waveform: Tensor, acoustic) -> Tensor:
    """Turn a 16 kHz mono waveform (S,) into the front end's input."""
    if acoustic.input_kind == "waveform":
        return waveform
    from crossdistill.data.features import compute_features

    return compute_features(waveform, feature_config_for(acoustic.config))


def feature_config_for(acoustic_config) -> FeatureConfig:
    """Return what the data layer must read for an :class:`AcousticConfig`'s front end."""
    if acoustic_config.frontend == "sincnet":
        return FeatureConfig(kind="waveform", sample_rate=acoustic_config.sincnet.sample_rate)
    return FeatureConfig(
        kind="logmel", n_mels=acoustic_config.logmel.n_mels, hop_length_s=acoustic_config.logmel.frame_shift_s
    )
