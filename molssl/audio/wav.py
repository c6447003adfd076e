"""Reading PCM WAV files with the standard library's ``wave`` module, and resampling.

``wave`` reads uncompressed PCM, which is what the Free Spoken Digit Dataset and most speech corpora ship, with
no dependency to install (torchaudio has no CPU build here; soundfile needs libsndfile). A file ``wave`` cannot
read (compressed, float or extensible formats) is an error that names the file and says to convert it to PCM.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

#: sample width in bytes -> the numpy dtype of one sample (8-bit WAV is unsigned, the others signed little-endian)
_DTYPES = {1: np.uint8, 2: np.dtype("<i2"), 4: np.dtype("<i4")}


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """The samples of a PCM WAV file as float32 in [-1, 1], channels averaged to mono, and its sample rate.

    Raises:
        ValueError: not a PCM WAV ``wave`` reads (naming the file and the reason), or no samples.

    Shapes:
        -> samples [T] float32, sample_rate int
    """
    samples, rate, width = read_pcm(path)
    scale = {1: 128.0, 2: 32768.0, 4: 2147483648.0}[width]
    x = samples.astype(np.float64)
    if width == 1:
        x -= 128.0
    return (x.mean(axis=1) / scale).astype(np.float32), rate


def read_pcm(path: str | os.PathLike) -> tuple[np.ndarray, int, int]:
    """The raw integer samples of a PCM WAV file, its sample rate and its sample width in bytes.

    Shapes:
        -> samples [T, channels] (uint8 for 8-bit, int16, int32), sample_rate, sample width
    """
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as reader:
            channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
            frames = reader.getnframes()
            data = reader.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a PCM WAV file the standard library reads ({exc}); convert it to 16-bit PCM, "
                         "e.g. ffmpeg -i IN -acodec pcm_s16le OUT.wav") from None  # fmt: skip
    if width not in _DTYPES:
        raise ValueError(f"{path}: {8 * width}-bit samples; molssl reads 8-, 16- and 32-bit PCM WAV files")
    if frames == 0 or len(data) == 0:
        raise ValueError(f"{path}: the WAV file holds no samples")
    if len(data) != frames * channels * width:
        raise ValueError(f"{path}: truncated WAV file (header says {frames} frames, found {len(data) // (channels * width)})")
    samples = np.frombuffer(data, dtype=_DTYPES[width]).reshape(frames, channels)
    return samples, rate, width


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``samples`` at ``target`` Hz: polyphase resampling with a Kaiser-windowed low-pass (``scipy.signal.resample_poly``).

    Shapes:
        samples: [T] -> [ceil(T * target / rate)]
    """
    if rate == target:
        return samples
    try:
        from scipy.signal import resample_poly
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        raise ImportError(f"resampling {rate} Hz audio to {target} Hz needs scipy (pip install scipy)") from None
    from math import gcd

    g = gcd(rate, target)
    return resample_poly(samples, target // g, rate // g).astype(np.float32)


__all__ = ["read_pcm", "read_wav", "resample"]
