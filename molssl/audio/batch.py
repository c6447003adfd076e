"""A batch of audio clips: the unit the audio data source yields and the audio methods consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import Tensor

from molssl.audio.logmel import LogMelConfig, log_mel


@dataclass(frozen=True)
class AudioBatch:
    """``B`` equally long waveforms with their true lengths, the log-mel settings and the data's normalization.

    The spectrogram is computed where the batch is (CPU or GPU) by the view recipes, after any waveform
    augmentation; ``normalized()`` gives the encoder input without augmentation (evaluation). Normalization is
    one mean and std over all log-mel values of the data set (BYOL-A's pre-normalization), carried, not applied.

    Shapes:
        waveforms: [B, T] float32 in [-1, 1], zero-padded at the end; T = ``logmel.samples_for(frames)``
        lengths: [B] int64, samples of each clip before padding (at most T)
        labels: [B] int64, or None for unlabeled data
    """

    waveforms: Tensor
    lengths: Tensor
    logmel: LogMelConfig = field(default_factory=LogMelConfig)
    labels: Tensor | None = None
    mean: float = 0.0
    std: float = 1.0
    modality: ClassVar[str] = "audio"

    def __post_init__(self) -> None:
        w = self.waveforms
        if not isinstance(w, Tensor) or w.dim() != 2 or w.dtype != torch.float32:
            got = f"{tuple(w.shape)} {w.dtype}" if isinstance(w, Tensor) else type(w).__name__
            raise ValueError(f"AudioBatch.waveforms must be a float32 [B, T] tensor, got {got}")
        if not isinstance(self.lengths, Tensor) or self.lengths.shape != (w.size(0),) or self.lengths.dtype != torch.int64:
            raise ValueError(f"AudioBatch.lengths must be [B] int64 with B = {w.size(0)}")
        if self.logmel.num_frames(w.size(1)) < 1:
            raise ValueError(f"AudioBatch waveforms of {w.size(1)} samples are shorter than one window ({self.logmel.n_fft})")
        if self.labels is not None:
            if not isinstance(self.labels, Tensor) or self.labels.dtype != torch.int64 or self.labels.shape != (w.size(0),):
                raise ValueError(f"AudioBatch.labels must be a [B] int64 tensor (B = {w.size(0)}) or None")
        if not self.std > 0:
            raise ValueError(f"AudioBatch.std must be > 0, got {self.std}")

    @property
    def frames(self) -> int:
        """Spectrogram frames of every clip."""
        return self.logmel.num_frames(self.waveforms.size(1))

    def __len__(self) -> int:
        return self.waveforms.size(0)

    def spectrogram(self, waveforms: Tensor | None = None) -> Tensor:
        """Log-mel spectrograms (not normalized) of ``waveforms`` (default: this batch's), as 1-channel images.

        Shapes:
            waveforms: [N, T] -> [N, 1, n_mels, frames]
        """
        return log_mel(self.waveforms if waveforms is None else waveforms, self.logmel).unsqueeze(1)

    def normalize(self, spectrograms: Tensor) -> Tensor:
        """``(log_mel - mean) / std`` with the data's statistics. Shapes: any -> same"""
        return (spectrograms - self.mean) / self.std

    def normalized(self) -> Tensor:
        """The clips as the encoder takes them, without augmentation. Shapes: -> [B, 1, n_mels, frames]"""
        return self.normalize(self.spectrogram())

    def clip_frames(self) -> Tensor:
        """Frames that start inside each clip (the rest read only padding), at least 1. Shapes: -> [B] int64"""
        starts_inside = torch.div(self.lengths - 1, self.logmel.hop_length, rounding_mode="floor") + 1
        return starts_inside.clamp(1, self.frames)

    def raw_features(self) -> Tensor:
        """The raw baseline: each clip's log-mel averaged over its own frames (not the padding).

        Shapes:
            -> [B, n_mels]
        """
        spectrograms = self.spectrogram()[:, 0]  # [B, M, frames]
        count = self.clip_frames().to(spectrograms.device)
        inside = torch.arange(self.frames, device=spectrograms.device) < count.unsqueeze(1)  # [B, frames]
        return (spectrograms * inside.unsqueeze(1)).sum(-1) / count.unsqueeze(1)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> AudioBatch:
        """This batch with its tensors on ``device``."""
        labels = None if self.labels is None else self.labels.to(device, non_blocking=non_blocking)
        return AudioBatch(self.waveforms.to(device, non_blocking=non_blocking),
                          self.lengths.to(device, non_blocking=non_blocking), self.logmel, labels, self.mean, self.std)  # fmt: skip
