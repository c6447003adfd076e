"""Batched audio augmentations against per-clip loops fed the same random draws, on real recordings."""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F

from molssl.audio import augment as A
from molssl.vision.augment import _coin, _uniform
from tests.audio.conftest import generator


@pytest.fixture
def spectrograms(clips):
    return clips.spectrogram()  # [12, 1, 64, 64], log power


def test_gain_matches_a_per_clip_loop(clips):
    out = A.random_gain(clips.waveforms, generator(1), db=6.0)
    gains = _uniform(len(clips), -6.0, 6.0, generator(1), torch.device("cpu"))
    for i in range(len(clips)):
        torch.testing.assert_close(out[i], clips.waveforms[i] * 10 ** (float(gains[i]) / 20))
    assert float(gains.abs().max()) <= 6.0 and float(gains.std()) > 1.0


def test_noise_has_the_drawn_snr_over_each_clip(clips):
    w, lengths = clips.waveforms, clips.lengths
    out = A.random_noise(w, lengths, generator(2), p=0.5, snr_db=(10.0, 20.0))
    g = generator(2)
    apply = _coin(len(clips), 0.5, g, w.device)
    snr = _uniform(len(clips), 10.0, 20.0, g, w.device)
    noise = torch.randn(w.shape, generator=g)
    assert 0 < int(apply.sum()) < len(clips)
    for i in range(len(clips)):
        if not apply[i]:
            torch.testing.assert_close(out[i], w[i])
            continue
        added = out[i] - w[i]
        signal = w[i, : lengths[i]].double().square().mean()
        expected_power = signal / 10 ** (float(snr[i]) / 10)
        assert float(added.double().square().mean()) == pytest.approx(float(expected_power), rel=1e-4)
        torch.testing.assert_close(added / added.norm(), noise[i] / noise[i].norm())


def test_mixup_matches_a_per_clip_loop_in_the_power_domain(spectrograms):
    n = spectrograms.size(0)
    out = A.random_mixup(spectrograms, generator(3), ratio=0.4)
    g = generator(3)
    ratios = _uniform(n, 0.0, 0.4, g, torch.device("cpu"))
    shift = torch.floor(_uniform(n, 0.0, 1.0, g, torch.device("cpu")) * (n - 1)).long() + 1
    for i in range(n):
        partner = (i + int(shift[i])) % n
        assert partner != i
        lam = float(ratios[i])
        expected = torch.log((1 - lam) * spectrograms[i].double().exp() + lam * spectrograms[partner].double().exp())
        torch.testing.assert_close(out[i].double(), expected, rtol=1e-5, atol=1e-5)


def test_mixup_of_one_clip_leaves_it():
    x = torch.randn(1, 1, 8, 8)
    torch.testing.assert_close(A.random_mixup(x, generator()), x)


def test_random_resized_crop_matches_pad_crop_interpolate_per_clip(spectrograms):
    x = (spectrograms - spectrograms.mean()) / spectrograms.std()
    out = A.random_resized_crop_spectrograms(x, generator(4))
    boxes = A.sample_spectrogram_crops(x.size(0), 64, 64, generator(4))
    canvas_h, canvas_w = A.canvas_size(64, 64, (1.0, 1.5))
    assert (canvas_h, canvas_w) == (64, 96)
    assert len({tuple(b.tolist()) for b in boxes}) == x.size(0)  # every clip its own crop
    for i in range(x.size(0)):
        canvas = torch.zeros(1, 1, canvas_h, canvas_w)
        canvas[..., :, 16:80] = x[i]
        top, left, h, w = boxes[i].tolist()
        assert 0 <= top and top + h <= canvas_h and 0 <= left and left + w <= canvas_w
        expected = F.interpolate(canvas[..., top : top + h, left : left + w], size=(64, 64), mode="bilinear", align_corners=False)
        torch.testing.assert_close(out[i], expected[0], rtol=1e-4, atol=1e-4)


def test_band_masks_match_a_per_clip_loop(spectrograms):
    n = spectrograms.size(0)
    for axis, count, width in (("freq", 2, 8), ("time", 3, 10)):
        out = A.random_band_masks(spectrograms, generator(5), axis, count, width)
        g = generator(5)
        widths = torch.floor(_uniform(n * count, 0.0, 1.0, g, torch.device("cpu")) * (width + 1)).long()
        starts = torch.floor(_uniform(n * count, 0.0, 1.0, g, torch.device("cpu")) * (64 - widths + 1)).long()
        masked_any = False
        for i in range(n):
            expected = spectrograms[i].clone()
            for j in range(count):
                s, w = int(starts[i * count + j]), int(widths[i * count + j])
                assert 0 <= w <= width and s + w <= 64
                if axis == "freq":
                    expected[:, s : s + w, :] = 0.0
                else:
                    expected[:, :, s : s + w] = 0.0
                masked_any |= w > 0
            torch.testing.assert_close(out[i], expected)
        assert masked_any


def test_a_seed_gives_the_same_augmentations(spectrograms):
    a = A.random_resized_crop_spectrograms(A.random_mixup(spectrograms, generator(7)), generator(8))
    b = A.random_resized_crop_spectrograms(A.random_mixup(spectrograms, generator(7)), generator(8))
    c = A.random_resized_crop_spectrograms(A.random_mixup(spectrograms, generator(9)), generator(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_bad_inputs_are_errors(spectrograms):
    with pytest.raises(ValueError, match=r"\[B, 1, n_mels, frames\]"):
        A.random_mixup(spectrograms[0], generator())
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        A.random_mixup(spectrograms, generator(), ratio=1.0)
    with pytest.raises(ValueError, match="'freq' or 'time'"):
        A.mask_bands(spectrograms, torch.zeros(12, 1, dtype=torch.long), torch.ones(12, 1, dtype=torch.long), "mel")
    with pytest.raises(ValueError, match=r"\[B, T\]"):
        A.random_gain(torch.zeros(3), generator())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_views_on_the_gpu_equal_the_cpu_views(clips):
    from molssl.views import get_views

    for recipe in ("byola", "specaugment"):
        cpu = get_views("audio", recipe)(clips, generator(11))
        gpu = get_views("audio", recipe)(clips.to("cuda"), generator(11))
        for a, b in zip(cpu, gpu):
            torch.testing.assert_close(b.cpu(), a, rtol=1e-3, atol=1e-3)
