"""Log-mel spectrograms of whole batches of waveforms, in torch on CPU or GPU.

``log_mel(waveforms, config)``: short-time Fourier transform (periodic Hann window of ``n_fft`` samples, hop
``hop_length``, no centering: frame ``t`` covers samples ``[t * hop, t * hop + n_fft)``), power spectrum
``|X|^2``, a triangular mel filterbank on the HTK mel scale ``mel(f) = 2595 log10(1 + f / 700)`` (O'Shaughnessy
1987, as HTK and ``librosa.filters.mel(htk=True, norm=None)``: ``n_mels + 2`` points equally spaced in mel from
``f_min`` to ``f_max``, each filter rising linearly in Hz from its left point to 1 at its centre and falling to
its right point; no area normalization), then the natural log with a floor, ``log(max(mel, floor))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from molssl.ssl.checks import check_positive_float, check_positive_int
from molssl.ssl.plain_config import PlainConfig


@dataclass(frozen=True, kw_only=True)
class LogMelConfig(PlainConfig):
    """How waveforms become log-mel spectrograms (plain data on the shared ``PlainConfig``: ``to_dict`` is its
    fields, ``from_dict`` refuses unknown keys; recorded in an encoder checkpoint's preprocessing).

    Defaults suit 8 kHz speech: 32 ms windows, 16 ms hop, 64 mel bands from 0 to 4 kHz; 64 frames span 1.04 s.

    Attributes:
        sample_rate: of the waveforms, in Hz.
        n_fft: window and FFT length in samples.
        hop_length: samples between frames.
        n_mels: mel bands.
        f_min, f_max: frequency range of the filterbank in Hz (``f_max`` None = ``sample_rate / 2``).
        floor: smallest mel power before the log (silence and zero padding map to ``log(floor)``).
    """

    sample_rate: int = 8000
    n_fft: int = 256
    hop_length: int = 128
    n_mels: int = 64
    f_min: float = 0.0
    f_max: float | None = None
    floor: float = 1e-7

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels"):
            check_positive_int(f"LogMelConfig.{name}", getattr(self, name))
        check_positive_float("LogMelConfig.floor", self.floor)
        top = self.top_frequency
        if not 0 <= self.f_min < top <= self.sample_rate / 2:
            raise ValueError(f"LogMelConfig needs 0 <= f_min < f_max <= sample_rate / 2, got f_min {self.f_min}, "
                             f"f_max {top}, sample_rate {self.sample_rate}")  # fmt: skip

    @property
    def top_frequency(self) -> float:
        """``f_max``, or the Nyquist frequency when it is None."""
        return self.sample_rate / 2 if self.f_max is None else float(self.f_max)

    def samples_for(self, frames: int) -> int:
        """Waveform length that gives exactly ``frames`` frames."""
        return self.n_fft + (frames - 1) * self.hop_length

    def num_frames(self, samples: int) -> int:
        """Frames of a waveform of ``samples`` samples (0 when shorter than one window)."""
        return 0 if samples < self.n_fft else 1 + (samples - self.n_fft) // self.hop_length


def hz_to_mel(hz: Tensor) -> Tensor:
    """HTK mel scale: ``2595 log10(1 + f / 700)``."""
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: Tensor) -> Tensor:
    """Inverse of ``hz_to_mel``: ``700 (10^(m / 2595) - 1)``."""
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(config: LogMelConfig, device: torch.device | str | None = None) -> Tensor:
    """Triangular HTK-scale mel filters over the FFT bins (module docstring), float32.

    Shapes:
        -> [n_fft // 2 + 1, n_mels]
    """
    edges = torch.linspace(float(hz_to_mel(torch.tensor(config.f_min, dtype=torch.float64))),
                           float(hz_to_mel(torch.tensor(config.top_frequency, dtype=torch.float64))),
                           config.n_mels + 2, dtype=torch.float64)  # fmt: skip
    points = mel_to_hz(edges)  # [n_mels + 2] Hz
    bins = torch.arange(config.n_fft // 2 + 1, dtype=torch.float64) * config.sample_rate / config.n_fft  # [K] Hz
    left, centre, right = points[:-2], points[1:-1], points[2:]  # [M] each
    rising = (bins.unsqueeze(1) - left) / (centre - left)  # [K, M]
    falling = (right - bins.unsqueeze(1)) / (right - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).to(device=device, dtype=torch.float32)


def power_spectrogram(waveforms: Tensor, config: LogMelConfig) -> Tensor:
    """``|STFT|^2`` of every waveform (periodic Hann window, no centering).

    Shapes:
        waveforms: [B, T] float -> [B, n_fft // 2 + 1, frames], frames = 1 + (T - n_fft) // hop_length
    """
    if waveforms.dim() != 2 or not waveforms.is_floating_point():
        raise ValueError(f"waveforms must be a float [B, T] tensor, got {tuple(waveforms.shape)} {waveforms.dtype}")
    if waveforms.size(1) < config.n_fft:
        raise ValueError(f"waveforms of {waveforms.size(1)} samples are shorter than one window ({config.n_fft}); pad them")
    window = torch.hann_window(config.n_fft, periodic=True, device=waveforms.device, dtype=waveforms.dtype)
    spectrum = torch.stft(waveforms, config.n_fft, config.hop_length, window=window, center=False, return_complex=True)
    return spectrum.real.square() + spectrum.imag.square()


def log_mel(waveforms: Tensor, config: LogMelConfig, filterbank: Tensor | None = None) -> Tensor:
    """Log-mel spectrograms of a batch of waveforms: ``log(max(power @ filterbank, floor))``.

    Args:
        waveforms: samples in [-1, 1] at ``config.sample_rate``.
        filterbank: ``mel_filterbank(config)`` on the waveforms' device, to reuse across calls.

    Shapes:
        waveforms: [B, T] -> [B, n_mels, frames]
    """
    power = power_spectrogram(waveforms, config)  # [B, K, frames]
    if filterbank is None:
        filterbank = mel_filterbank(config, waveforms.device)
    mel = torch.matmul(filterbank.to(power.dtype).T, power)  # [M, K] @ [B, K, frames] -> [B, M, frames]
    return torch.log(torch.clamp(mel, min=config.floor))


def log_floor(config: LogMelConfig) -> float:
    """The value silence takes, ``log(floor)``."""
    return math.log(config.floor)


__all__ = ["LogMelConfig", "hz_to_mel", "log_floor", "log_mel", "mel_filterbank", "mel_to_hz", "power_spectrogram"]
