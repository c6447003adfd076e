"""The audio view recipes of ``molssl.views``: "byola" (BYOL-A) and "specaugment".

Each recipe turns an ``AudioBatch`` into normalized log-mel views ``[B, 1, n_mels, frames]`` with the batched
transforms of ``molssl.audio.augment``, every draw from the step's generator, on the batch's device. One view is
made by ``augment_view`` in this order: gain and noise on the waveform, log-mel, mixup (power domain), the data's
normalization, BYOL-A's random resized crop, SpecAugment's frequency and time masks.

- "byola" (Niizumi et al., "BYOL for Audio", IJCNN 2021): two views, each mixup (ratio 0.4) then the random
  resized crop (virtual canvas 1 x 1.5, frequency and time scales 0.6-1.5); no gain, noise or masks. BYOL-A also
  crops a random 1 s segment of each file and normalizes again after augmenting; here the clips are the data
  source's fixed windows (1.04 s at the defaults) and no post-normalization is made.
- "specaugment": two views, each a gain of +-6 dB, white noise (p 0.5, 10-40 dB SNR), the random resized crop
  and two frequency (width <= 8) and two time masks (width <= 10), SpecAugment's LibriSpeech-style policy
  scaled to 64 bands and 64 frames (Park et al., Interspeech 2019); no mixup.

Every option of ``augment_view`` can be given to either recipe (``view_options``), e.g. ``mixup=0`` or
``time_masks=0``; a single-view method (MAE) uses the first view.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from molssl.audio import augment as A
from molssl.audio.batch import AudioBatch
from molssl.views import register_views


def augment_view(
    batch: AudioBatch,
    generator: torch.Generator,
    *,
    gain_db: float = 0.0,
    noise_p: float = 0.0,
    snr_db: Sequence[float] = (10.0, 40.0),
    mixup: float = 0.4,
    crop: bool = True,
    virtual_scale: Sequence[float] = (1.0, 1.5),
    freq_scale: Sequence[float] = (0.6, 1.5),
    time_scale: Sequence[float] = (0.6, 1.5),
    freq_masks: int = 0,
    freq_mask_width: int = 8,
    time_masks: int = 0,
    time_mask_width: int = 10,
    clean: Tensor | None = None,
) -> Tensor:
    """One augmented, normalized log-mel view of every clip (order in the module docstring).

    Args:
        clean: the batch's log-mel spectrograms, reused when no waveform augmentation is asked for.

    Shapes:
        batch.waveforms: [B, T] -> [B, 1, n_mels, frames]
    """
    if not isinstance(batch, AudioBatch):
        raise TypeError(f"audio view recipes take an AudioBatch, got {type(batch).__name__}")
    waveforms = batch.waveforms
    if gain_db or noise_p:
        if gain_db:
            waveforms = A.random_gain(waveforms, generator, gain_db)
        if noise_p:
            waveforms = A.random_noise(waveforms, batch.lengths, generator, noise_p, tuple(snr_db))
        spectrograms = batch.spectrogram(waveforms)
    else:
        spectrograms = clean if clean is not None else batch.spectrogram()
    if mixup:
        spectrograms = A.random_mixup(spectrograms, generator, mixup)
    spectrograms = batch.normalize(spectrograms)
    if crop:
        spectrograms = A.random_resized_crop_spectrograms(spectrograms, generator, tuple(virtual_scale),
                                                          tuple(freq_scale), tuple(time_scale))  # fmt: skip
    spectrograms = A.random_band_masks(spectrograms, generator, "freq", freq_masks, freq_mask_width)
    return A.random_band_masks(spectrograms, generator, "time", time_masks, time_mask_width)


def two_views(batch: AudioBatch, generator: torch.Generator, **options) -> list[Tensor]:
    """Two views of every clip made alike by ``augment_view``. Shapes: -> 2 x [B, 1, n_mels, frames]"""
    if not isinstance(batch, AudioBatch):
        raise TypeError(f"audio view recipes take an AudioBatch, got {type(batch).__name__}")
    clean = None if options.get("gain_db") or options.get("noise_p") else batch.spectrogram()
    return [augment_view(batch, generator, clean=clean, **options) for _ in range(2)]


def byola_views(batch: AudioBatch, generator: torch.Generator, **options) -> list[Tensor]:
    """BYOL-A's two views: mixup and random resized crop (module docstring)."""
    return two_views(batch, generator, **options)


def specaugment_views(batch: AudioBatch, generator: torch.Generator, **options) -> list[Tensor]:
    """Two views with gain, noise, random resized crop and SpecAugment masks (module docstring)."""
    options = {"gain_db": 6.0, "noise_p": 0.5, "mixup": 0.0, "freq_masks": 2, "time_masks": 2, **options}
    return two_views(batch, generator, **options)


register_views("audio", "byola", byola_views)
register_views("audio", "specaugment", specaugment_views)
