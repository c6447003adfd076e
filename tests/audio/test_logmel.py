"""Log-mel spectrograms against an independent numpy computation: per-frame DFT, the HTK mel formula written out."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from molssl.audio.logmel import LogMelConfig, log_mel, mel_filterbank, power_spectrogram


def numpy_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """Triangular filters on the HTK mel scale, one bin and one band at a time. -> [n_fft // 2 + 1, n_mels]"""
    mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)  # noqa: E731
    hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)  # noqa: E731
    step = (mel(f_max) - mel(f_min)) / (n_mels + 1)
    points = [hz(mel(f_min) + i * step) for i in range(n_mels + 2)]
    bank = np.zeros((n_fft // 2 + 1, n_mels))
    for band in range(n_mels):
        lo, mid, hi = points[band], points[band + 1], points[band + 2]
        for k in range(n_fft // 2 + 1):
            f = k * sample_rate / n_fft
            if lo < f <= mid:
                bank[k, band] = (f - lo) / (mid - lo)
            elif mid < f < hi:
                bank[k, band] = (hi - f) / (hi - mid)
    return bank


def numpy_log_mel(x: np.ndarray, config: LogMelConfig) -> np.ndarray:
    """One clip, frame by frame: periodic Hann window, rfft, |X|^2, filters, log with floor. -> [n_mels, frames]"""
    n = config.n_fft
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    bank = numpy_filterbank(config.sample_rate, n, config.n_mels, config.f_min, config.top_frequency)
    frames = []
    for start in range(0, len(x) - n + 1, config.hop_length):
        power = np.abs(np.fft.rfft(x[start : start + n] * window)) ** 2
        frames.append(np.log(np.maximum(power @ bank, config.floor)))
    return np.stack(frames, axis=1)


@pytest.mark.parametrize("config", [LogMelConfig(), LogMelConfig(n_fft=200, hop_length=80, n_mels=40, f_min=60.0, f_max=3800.0)])
def test_log_mel_of_real_recordings_matches_numpy(clips, config):
    waveforms = clips.waveforms[:4, :4000].double()
    ours = log_mel(waveforms, config)
    for i in range(4):
        expected = numpy_log_mel(waveforms[i].numpy(), config)
        assert ours[i].shape == expected.shape
        np.testing.assert_allclose(ours[i].numpy(), expected, rtol=1e-6, atol=1e-6)


def test_filterbank_is_the_htk_formula():
    config = LogMelConfig(n_mels=40, f_min=100.0, f_max=3900.0)
    ours = mel_filterbank(config).double().numpy()
    np.testing.assert_allclose(ours, numpy_filterbank(8000, 256, 40, 100.0, 3900.0), atol=1e-6)
    assert ours.max(0).min() > 0.5  # every band covers a bin
    try:
        import librosa
    except ImportError:
        return
    reference = librosa.filters.mel(sr=8000, n_fft=256, n_mels=40, fmin=100.0, fmax=3900.0, htk=True, norm=None).T
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_a_pure_tone_lights_the_band_around_its_frequency():
    config = LogMelConfig()
    t = torch.arange(8320, dtype=torch.float64) / 8000
    spectrogram = log_mel(0.5 * torch.sin(2 * math.pi * 1000.0 * t).unsqueeze(0), config)[0]  # [M, F]
    centres = torch.tensor([700.0 * (10 ** (m / 2595.0) - 1) for m in np.linspace(0, 2595 * math.log10(1 + 4000 / 700), 66)[1:-1]])
    assert abs(float(centres[spectrogram.mean(1).argmax()]) - 1000.0) < 60.0
    assert spectrogram.shape == (64, 64)


def test_batched_equals_one_by_one_and_silence_is_the_floor(clips):
    config = LogMelConfig()
    batched = log_mel(clips.waveforms, config)
    single = torch.cat([log_mel(w.unsqueeze(0), config) for w in clips.waveforms])
    torch.testing.assert_close(batched, single)
    silent = log_mel(torch.zeros(1, 1024), config)
    assert torch.all(silent == math.log(config.floor))
    assert power_spectrogram(clips.waveforms, config).shape == (12, 129, 64)


def test_bad_inputs_and_settings_are_errors():
    with pytest.raises(ValueError, match="shorter than one window"):
        log_mel(torch.zeros(2, 100), LogMelConfig())
    with pytest.raises(ValueError, match=r"\[B, T\]"):
        log_mel(torch.zeros(100), LogMelConfig())
    with pytest.raises(ValueError, match="f_max"):
        LogMelConfig(f_max=5000.0)
    with pytest.raises(ValueError, match="unknown LogMelConfig keys"):
        LogMelConfig.from_dict({"n_mel": 64})


def test_config_is_plain_data_on_the_shared_base_and_reads_what_older_checkpoints_wrote():
    from molssl.ssl.plain_config import PlainConfig

    assert issubclass(LogMelConfig, PlainConfig) and "to_dict" not in vars(LogMelConfig)
    # preprocessing.logmel as checkpoints written before the shared base recorded it (config.json)
    written = json.loads('{"sample_rate": 8000, "n_fft": 200, "hop_length": 80, "n_mels": 40, "f_min": 60.0, '
                         '"f_max": 3800.0, "floor": 1e-07}')  # fmt: skip
    config = LogMelConfig.from_dict(written)
    assert config == LogMelConfig(n_fft=200, hop_length=80, n_mels=40, f_min=60.0, f_max=3800.0)
    assert config.to_dict() == written
    assert LogMelConfig.from_dict(json.loads(json.dumps(LogMelConfig().to_dict()))) == LogMelConfig()
    with pytest.raises(ValueError, match="LogMelConfig.n_mels"):
        LogMelConfig.from_dict({**written, "n_mels": 0})
