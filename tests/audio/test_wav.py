"""WAV reading with the standard library: sample values, channels, widths, resampling, and errors naming the file."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from molssl.audio.wav import read_pcm, read_wav, resample


def write_wav(path, samples: np.ndarray, rate: int = 8000, width: int = 2) -> None:
    samples = samples if samples.ndim == 2 else samples.reshape(-1, 1)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(samples.shape[1])
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())


def test_16_bit_mono_samples_are_scaled_to_unit_range(tmp_path):
    values = np.array([0, 16384, -32768, 32767, -1], dtype="<i2")
    write_wav(tmp_path / "a.wav", values)
    samples, rate = read_wav(tmp_path / "a.wav")
    assert rate == 8000 and samples.dtype == np.float32
    np.testing.assert_array_equal(samples, values / 32768.0)
    raw, _, width = read_pcm(tmp_path / "a.wav")
    assert width == 2 and np.array_equal(raw[:, 0], values)


def test_stereo_is_averaged_and_8_bit_is_unsigned(tmp_path):
    write_wav(tmp_path / "s.wav", np.array([[1000, 3000], [-2000, 0]], dtype="<i2"))
    np.testing.assert_allclose(read_wav(tmp_path / "s.wav")[0], [2000 / 32768, -1000 / 32768])
    write_wav(tmp_path / "b.wav", np.array([128, 255, 0], dtype=np.uint8), width=1)
    np.testing.assert_allclose(read_wav(tmp_path / "b.wav")[0], [0.0, 127 / 128, -1.0])


def test_unreadable_files_are_errors_naming_them(tmp_path):
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(ValueError, match=r"text\.wav: not a PCM WAV file"):
        read_wav(tmp_path / "text.wav")
    write_wav(tmp_path / "empty.wav", np.zeros(0, dtype="<i2"))
    with pytest.raises(ValueError, match=r"empty\.wav: the WAV file holds no samples"):
        read_wav(tmp_path / "empty.wav")
    with wave.open(str(tmp_path / "deep.wav"), "wb") as writer:
        writer.setnchannels(1), writer.setsampwidth(3), writer.setframerate(8000)
        writer.writeframes(b"\x00" * 30)
    with pytest.raises(ValueError, match=r"deep\.wav: 24-bit samples"):
        read_wav(tmp_path / "deep.wav")
    good = tmp_path / "cut.wav"
    write_wav(good, np.zeros(100, dtype="<i2"))
    good.write_bytes(good.read_bytes()[:-50])
    with pytest.raises(ValueError, match=r"cut\.wav"):
        read_wav(good)


def test_resampling_keeps_a_tone():
    t16, t8 = np.arange(16000) / 16000, np.arange(8000) / 8000
    tone = resample(np.sin(2 * np.pi * 440 * t16).astype(np.float32), 16000, 8000)
    assert tone.shape == (8000,)
    np.testing.assert_allclose(tone[200:-200], np.sin(2 * np.pi * 440 * t8)[200:-200], atol=2e-3)
