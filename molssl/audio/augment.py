"""Spectrogram and waveform augmentations of the audio SSL literature, batched over a whole batch on CPU or GPU.

As in ``molssl.vision.augment``, each transform is a deterministic function of explicit per-clip parameters
(``apply_gain(waveforms, gains_db)``, ``mask_bands(spectrograms, starts, widths, axis)``, ...), which the tests
check against a per-clip loop, and a ``random_*`` function that draws those parameters from the step's
``torch.Generator`` (on the generator's device, then moved), so a seed gives the same augmentations on CPU and GPU.

- gain and noise act on waveforms ``[B, T]``: a gain in dB; white Gaussian noise at a signal-to-noise ratio in dB
  measured against each clip's own samples (not its padding);
- mixup acts on log-mel spectrograms ``[B, 1, M, F]`` before normalization, in the power domain as BYOL-A's
  log-mixup-exp (Niizumi et al., IJCNN 2021): ``log((1 - l) exp(x) + l exp(x_partner))``, ``l ~ U[0, ratio)``,
  the partner another clip of the batch (BYOL-A: a clip from a memory of past batches);
- the random resized crop of BYOL-A pads the normalized spectrogram with zeros (the mean) to a virtual canvas
  (``virtual_scale`` times its height and width, centred), crops a box whose height and width are ``freq_scale``
  and ``time_scale`` times the spectrogram's (clipped to the canvas) and resizes it back bilinearly
  (BYOL-A: bicubic), reusing the image crop (``molssl.vision.augment.resized_crop``);
- SpecAugment's frequency and time masks (Park et al., Interspeech 2019) set bands of each normalized
  spectrogram to 0 (the mean): ``count`` masks per clip, width ~ U{0..max_width}, start ~ U{0..L - width}.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from molssl.vision.augment import _coin, _uniform, resized_crop


def _check_waveforms(waveforms: Tensor) -> None:
    if not isinstance(waveforms, Tensor) or waveforms.dim() != 2 or not waveforms.is_floating_point():
        shape = tuple(waveforms.shape) if isinstance(waveforms, Tensor) else type(waveforms).__name__
        raise ValueError(f"waveform augmentations take float [B, T] waveforms, got {shape}")


def _check_spectrograms(spectrograms: Tensor) -> None:
    if not isinstance(spectrograms, Tensor) or spectrograms.dim() != 4 or not spectrograms.is_floating_point():
        shape = tuple(spectrograms.shape) if isinstance(spectrograms, Tensor) else type(spectrograms).__name__
        raise ValueError(f"spectrogram augmentations take float [B, 1, n_mels, frames] spectrograms, got {shape}")


def _integers(n: int, high: Tensor | int, generator: torch.Generator, device: torch.device) -> Tensor:
    """``n`` draws from U{0, ..., high - 1} (``high`` per draw, >= 1), int64 on ``device``."""
    return torch.floor(_uniform(n, 0.0, 1.0, generator, device) * torch.as_tensor(high, device=device)).long()


# ---------------------------------------------------------------------------------------------- waveform


def apply_gain(waveforms: Tensor, gains_db: Tensor) -> Tensor:
    """Scale each waveform by its gain, ``x * 10^(g / 20)``. Shapes: waveforms [B, T]; gains_db [B] -> [B, T]"""
    _check_waveforms(waveforms)
    return waveforms * torch.pow(10.0, gains_db.to(waveforms.device, torch.float64) / 20.0).to(waveforms.dtype).unsqueeze(1)


def random_gain(waveforms: Tensor, generator: torch.Generator, db: float = 6.0) -> Tensor:
    """A gain ~ U[-db, db] dB per waveform. Shapes: [B, T] -> [B, T]"""
    return apply_gain(waveforms, _uniform(waveforms.size(0), -db, db, generator, waveforms.device))


def add_noise(waveforms: Tensor, lengths: Tensor, noise: Tensor, snr_db: Tensor) -> Tensor:
    """Add ``noise`` scaled to each clip's SNR: ``x + n * sqrt(P_x / (P_n 10^(snr / 10)))``.

    ``P_x`` is the mean square of the clip's own samples (the first ``lengths[i]``), ``P_n`` that of its noise
    over the whole window; the noise covers the padding too.

    Shapes:
        waveforms, noise: [B, T]; lengths, snr_db: [B] -> [B, T]
    """
    _check_waveforms(waveforms)
    lengths = lengths.to(waveforms.device)
    inside = torch.arange(waveforms.size(1), device=waveforms.device) < lengths.unsqueeze(1)  # [B, T]
    signal = (waveforms.square() * inside).sum(1) / lengths.clamp(min=1)  # [B]
    noise_power = noise.square().mean(1).clamp(min=1e-20)
    snr = torch.pow(10.0, snr_db.to(waveforms.device, torch.float64) / 10.0).to(waveforms.dtype)
    return waveforms + noise * torch.sqrt(signal / (noise_power * snr)).unsqueeze(1)


def random_noise(waveforms: Tensor, lengths: Tensor, generator: torch.Generator, p: float = 0.5,
                 snr_db: tuple[float, float] = (10.0, 40.0)) -> Tensor:  # fmt: skip
    """White noise at an SNR ~ U[snr_db] dB, added to each waveform with probability ``p``. Shapes: [B, T] -> [B, T]"""
    _check_waveforms(waveforms)
    n, device = waveforms.size(0), waveforms.device
    apply = _coin(n, p, generator, device)
    snr = _uniform(n, snr_db[0], snr_db[1], generator, device)
    noise = torch.randn(waveforms.shape, generator=generator, device=generator.device).to(device, waveforms.dtype)
    noise = noise * apply.to(waveforms.dtype).unsqueeze(1)
    return add_noise(waveforms, lengths, noise, snr)


# ----------------------------------------------------------------------------------------------- mixup


def mixup(spectrograms: Tensor, partners: Tensor, ratios: Tensor) -> Tensor:
    """BYOL-A's log-mixup-exp: ``log((1 - l) exp(x_i) + l exp(x_partner(i)))`` on log-mel spectrograms.

    Shapes:
        spectrograms: [B, 1, M, F] (log power, not normalized); partners: [B] int64; ratios: [B] in [0, 1) -> [B, 1, M, F]
    """
    _check_spectrograms(spectrograms)
    ratios = ratios.to(spectrograms.device, spectrograms.dtype).view(-1, 1, 1, 1)
    other = spectrograms[partners.to(spectrograms.device)]
    return torch.logaddexp(spectrograms + torch.log1p(-ratios), other + torch.log(ratios))


def random_mixup(spectrograms: Tensor, generator: torch.Generator, ratio: float = 0.4) -> Tensor:
    """Mix each clip with another clip of the batch, ``l ~ U[0, ratio)`` (BYOL-A: ratio 0.4). Shapes: as ``mixup``"""
    _check_spectrograms(spectrograms)
    if not 0 <= ratio < 1:
        raise ValueError(f"mixup ratio must lie in [0, 1), got {ratio}")
    n, device = spectrograms.size(0), spectrograms.device
    ratios = _uniform(n, 0.0, ratio, generator, device)
    shift = _integers(n, max(n - 1, 1), generator, device) + 1  # another clip: i + 1 .. i + B - 1 (mod B)
    partners = (torch.arange(n, device=device) + shift) % n
    return mixup(spectrograms, partners, ratios if n > 1 else torch.zeros_like(ratios))


# ------------------------------------------------------------------------------------------------- crop


def canvas_size(height: int, width: int, virtual_scale: tuple[float, float]) -> tuple[int, int]:
    """Height and width of BYOL-A's virtual canvas around a ``height x width`` spectrogram."""
    return max(height, int(height * virtual_scale[0])), max(width, int(width * virtual_scale[1]))


def sample_spectrogram_crops(n: int, height: int, width: int, generator: torch.Generator,
                             virtual_scale: tuple[float, float] = (1.0, 1.5), freq_scale: tuple[float, float] = (0.6, 1.5),
                             time_scale: tuple[float, float] = (0.6, 1.5)) -> Tensor:  # fmt: skip
    """BYOL-A's crop boxes in the virtual canvas (``canvas_size``), on the generator's device.

    Shapes:
        -> [n, 4] int64: top, left, crop height, crop width (inside the canvas)
    """
    canvas_h, canvas_w = canvas_size(height, width, virtual_scale)
    device = generator.device
    draws = torch.rand(n, 4, generator=generator, device=device, dtype=torch.float64)
    h = torch.clamp(torch.floor(height * (freq_scale[0] + (freq_scale[1] - freq_scale[0]) * draws[:, 0])), 1, canvas_h)
    w = torch.clamp(torch.floor(width * (time_scale[0] + (time_scale[1] - time_scale[0]) * draws[:, 1])), 1, canvas_w)
    top = torch.floor(draws[:, 2] * (canvas_h - h + 1))
    left = torch.floor(draws[:, 3] * (canvas_w - w + 1))
    return torch.stack([top, left, h, w], dim=1).long()


def pad_to_canvas(spectrograms: Tensor, canvas: tuple[int, int]) -> Tensor:
    """Centre the spectrograms in a zero canvas. Shapes: [B, C, M, F] -> [B, C, canvas_h, canvas_w]"""
    dh, dw = canvas[0] - spectrograms.size(2), canvas[1] - spectrograms.size(3)
    return F.pad(spectrograms, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))


def resized_crop_spectrograms(spectrograms: Tensor, boxes: Tensor, canvas: tuple[int, int]) -> Tensor:
    """Pad each spectrogram to ``canvas``, crop its box and resize it bilinearly to the spectrogram's size.

    Shapes:
        spectrograms: [B, 1, M, F] (normalized); boxes: [B, 4] (top, left, h, w in the canvas) -> [B, 1, M, F]
    """
    _check_spectrograms(spectrograms)
    return resized_crop(pad_to_canvas(spectrograms, canvas), boxes, tuple(spectrograms.shape[2:]))


def random_resized_crop_spectrograms(spectrograms: Tensor, generator: torch.Generator,
                                     virtual_scale: tuple[float, float] = (1.0, 1.5),
                                     freq_scale: tuple[float, float] = (0.6, 1.5),
                                     time_scale: tuple[float, float] = (0.6, 1.5)) -> Tensor:  # fmt: skip
    """BYOL-A's random resized crop (its defaults). Shapes: [B, 1, M, F] -> [B, 1, M, F]"""
    _check_spectrograms(spectrograms)
    b, _, m, f = spectrograms.shape
    boxes = sample_spectrogram_crops(b, m, f, generator, virtual_scale, freq_scale, time_scale)
    return resized_crop_spectrograms(spectrograms, boxes, canvas_size(m, f, virtual_scale))


# ------------------------------------------------------------------------------------------- SpecAugment


def mask_bands(spectrograms: Tensor, starts: Tensor, widths: Tensor, axis: str, value: float = 0.0) -> Tensor:
    """Set bands ``[start, start + width)`` of each spectrogram to ``value``, along ``axis`` ("freq" or "time").

    Shapes:
        spectrograms: [B, 1, M, F]; starts, widths: [B, K] int64 (K masks per clip) -> [B, 1, M, F]
    """
    _check_spectrograms(spectrograms)
    if axis not in ("freq", "time"):
        raise ValueError(f"axis must be 'freq' or 'time', got {axis!r}")
    size = spectrograms.size(2 if axis == "freq" else 3)
    position = torch.arange(size, device=spectrograms.device).view(1, 1, -1)  # [1, 1, L]
    starts, widths = starts.to(spectrograms.device).unsqueeze(2), widths.to(spectrograms.device).unsqueeze(2)
    band = ((position >= starts) & (position < starts + widths)).any(1)  # [B, L]
    band = band.view(-1, 1, size, 1) if axis == "freq" else band.view(-1, 1, 1, size)
    return spectrograms.masked_fill(band, value)


def random_band_masks(spectrograms: Tensor, generator: torch.Generator, axis: str, count: int, max_width: int) -> Tensor:
    """SpecAugment: ``count`` masks per clip along ``axis``, width ~ U{0..max_width}, start ~ U{0..L - width}."""
    _check_spectrograms(spectrograms)
    if count == 0 or max_width == 0:
        return spectrograms
    size = spectrograms.size(2 if axis == "freq" else 3)
    n, device = spectrograms.size(0) * count, spectrograms.device
    widths = _integers(n, min(max_width, size) + 1, generator, device)
    starts = _integers(n, size - widths + 1, generator, device)
    shape = (spectrograms.size(0), count)
    return mask_bands(spectrograms, starts.view(shape), widths.view(shape), axis)


__all__ = [
    "add_noise", "apply_gain", "canvas_size", "mask_bands", "mixup", "pad_to_canvas", "random_band_masks",
    "random_gain", "random_mixup", "random_noise", "random_resized_crop_spectrograms", "resized_crop_spectrograms",
    "sample_spectrogram_crops",
]  # fmt: skip
