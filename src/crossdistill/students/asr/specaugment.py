"""SpecAugment (Park et al., 2019) on a padded batch of log-mels, through lhotse's maintained implementation.

Paper 001 applies SpecAugment to the 80-dim filterbanks of both its acoustic models; this module applies it at
training time only (the training modules call it; a model in eval mode never sees it).

Two adaptations to frame-labelled training, both stated in docs/asr.md:

- **no time warping** by default: lhotse warps the features but not the frame labels or frame-wise posteriors,
  which would then point at other frames. Frequency and time masks leave every frame where it is.
- **per utterance**: each utterance is augmented on its own real frames, so masks never land in the padding and
  the time-mask budget (``max_frames_mask_fraction``) is a fraction of that utterance, not of the padded batch.

Randomness comes from Python's ``random`` and torch's global generator (lhotse draws from both); the training
modules reseed both at every step from the run's seed, so an augmented batch is a function of (seed, epoch,
step, rank) and a resumed run draws the same masks.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class SpecAugmentConfig:
    """lhotse ``SpecAugment`` settings (defaults: lhotse's, as icefall's LibriSpeech recipes use them, warp off).

    Fields:
      enabled: apply it during training at all.
      time_warp_factor: lhotse's warp factor; 0 = off (see the module docstring before turning it on).
      num_feature_masks, features_mask_size: frequency masks per utterance and their maximum width (bins).
      num_frame_masks, frames_mask_size: time masks per utterance and their maximum width (frames).
      max_frames_mask_fraction: at most this fraction of an utterance's frames is masked in time.
      p: probability that an utterance is augmented at all.
    """

    enabled: bool = True
    time_warp_factor: int = 0
    num_feature_masks: int = 2
    features_mask_size: int = 27
    num_frame_masks: int = 10
    frames_mask_size: int = 100
    max_frames_mask_fraction: float = 0.15
    p: float = 0.9

    def validate(self) -> None:
        for name in ("time_warp_factor", "num_feature_masks", "num_frame_masks"):
            if getattr(self, name) < 0:
                raise ValueError(f"specaugment.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("features_mask_size", "frames_mask_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"specaugment.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.max_frames_mask_fraction <= 1.0 or not 0.0 <= self.p <= 1.0:
            raise ValueError("specaugment.max_frames_mask_fraction and specaugment.p must lie in [0, 1]")


class BatchSpecAugment:
    """Callable: ``(features (B, T, F), lengths (B,)) -> augmented copy``; padded frames are left as they are."""

    def __init__(self, config: SpecAugmentConfig) -> None:
        from lhotse.dataset import SpecAugment

        config.validate()
        self.config = config
        self.transform = SpecAugment(
            time_warp_factor=config.time_warp_factor or None,
            num_feature_masks=config.num_feature_masks,
            features_mask_size=config.features_mask_size,
            num_frame_masks=config.num_frame_masks,
            frames_mask_size=config.frames_mask_size,
            max_frames_mask_fraction=config.max_frames_mask_fraction,
            p=config.p,
        )

    def __call__(self, features: Tensor, lengths: Tensor) -> Tensor:
        if not self.config.enabled:
            return features
        out = features.clone()
        for i, length in enumerate(lengths.tolist()):
            # lhotse's time mask width is floor(fraction * frames): an utterance too short for one frame is skipped
            # (lhotse would draw from an empty range).
            if self.config.num_frame_masks and length * self.config.max_frames_mask_fraction < 1:
                continue
            out[i, :length] = self.transform(features[i : i + 1, :length])[0]
        return out
