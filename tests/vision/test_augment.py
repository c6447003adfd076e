"""Each batched augmentation against a direct per-image computation (loops, colorsys, scipy.ndimage)."""

import colorsys
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from molssl.vision import augment as A


def rgb(n=4, size=9, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_crop_boxes_fit_and_follow_scale_and_ratio():
    boxes = A.sample_crop_boxes(2000, 28, 20, gen(), scale=(0.2, 0.6), ratio=(0.5, 2.0))
    top, left, h, w = boxes.unbind(1)
    assert bool(((top >= 0) & (left >= 0) & (top + h <= 28) & (left + w <= 20) & (h >= 1) & (w >= 1)).all())
    area = (h * w).double() / (28 * 20)
    assert 0.17 < area.min() and area.max() < 0.65  # rounding of h and w moves the area a little
    assert 0.4 < (w / h).min() and (w / h).max() < 2.5
    assert len(set(map(tuple, boxes.tolist()))) > 1000  # really random
    assert torch.equal(boxes, A.sample_crop_boxes(2000, 28, 20, gen(), scale=(0.2, 0.6), ratio=(0.5, 2.0)))


def test_crop_boxes_fall_back_to_a_center_crop():
    # no try can fit: the area is the whole image but the ratio must be 4:1
    boxes = A.sample_crop_boxes(5, 10, 10, gen(), scale=(1.0, 1.0), ratio=(4.0, 4.0))
    assert boxes.tolist() == [[4, 0, 2, 10]] * 5  # round(10 / 4) = 2 rows, centered


@pytest.mark.parametrize("size", [9, 5, (7, 12)])
def test_resized_crop_equals_interpolate_of_each_crop(size):
    images = rgb()
    boxes = torch.tensor([[0, 0, 9, 9], [2, 3, 4, 6], [5, 1, 3, 8], [1, 7, 8, 2]])
    flip = torch.tensor([False, True, False, True])
    out = A.resized_crop(images, boxes, size, flip)
    for i, (top, left, h, w) in enumerate(boxes.tolist()):
        crop = images[i : i + 1, :, top : top + h, left : left + w]
        expected = F.interpolate(crop, size=size, mode="bilinear", align_corners=False)[0]
        if flip[i]:
            expected = expected.flip(-1)
        torch.testing.assert_close(out[i], expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="inside"):
        A.resized_crop(images, boxes + torch.tensor([0, 0, 2, 0]), 4)


def test_random_resized_crop_is_a_function_of_the_generator():
    images = rgb(8, 12)
    a = A.random_resized_crop(images, gen(3), 6, flip_p=0.5)
    b = A.random_resized_crop(images, gen(3), 6, flip_p=0.5)
    c = A.random_resized_crop(images, gen(4), 6, flip_p=0.5)
    assert a.shape == (8, 3, 6, 6) and torch.equal(a, b) and not torch.equal(a, c)
    assert 0 <= a.min() and a.max() <= 1


def test_horizontal_flip_per_image():
    images = rgb()
    flip = torch.tensor([True, False, False, True])
    out = A.horizontal_flip(images, flip)
    for i in range(4):
        expected = torch.from_numpy(images[i].numpy()[:, :, ::-1].copy())
        torch.testing.assert_close(out[i], expected if flip[i] else images[i])
    flips = A.random_horizontal_flip(rgb(400), gen(), p=0.5)
    changed = (flips != rgb(400)).flatten(1).any(1).float().mean()
    assert 0.4 < changed < 0.6


def luma(pixel):
    return 0.299 * pixel[0] + 0.587 * pixel[1] + 0.114 * pixel[2]


def test_color_adjustments_match_per_pixel_formulas():
    images = rgb(3, 5)
    factors = torch.tensor([0.5, 1.0, 1.7])
    bright = A.adjust_brightness(images, factors)
    contrast = A.adjust_contrast(images, factors)
    saturation = A.adjust_saturation(images, factors)
    gray = A.to_grayscale(images)
    for i in range(3):
        f = float(factors[i])
        x = images[i].double().numpy()
        mean = np.mean([luma(x[:, r, c]) for r in range(5) for c in range(5)])
        for r in range(5):
            for c in range(5):
                px = x[:, r, c]
                y = luma(px)
                for ch in range(3):
                    assert gray[i, ch, r, c].item() == pytest.approx(y, abs=1e-6)
                    assert bright[i, ch, r, c].item() == pytest.approx(min(1, max(0, f * px[ch])), abs=1e-6)
                    assert contrast[i, ch, r, c].item() == pytest.approx(
                        min(1, max(0, f * px[ch] + (1 - f) * mean)), abs=1e-6
                    )
                    assert saturation[i, ch, r, c].item() == pytest.approx(
                        min(1, max(0, f * px[ch] + (1 - f) * y)), abs=1e-6
                    )


def test_hue_shift_matches_colorsys():
    images = rgb(3, 6)
    images[0, :, 0, 0] = torch.tensor([0.3, 0.3, 0.3])  # gray pixel: no hue
    images[1, :, 0, 0] = torch.tensor([0.0, 0.0, 0.0])
    shifts = torch.tensor([0.1, -0.35, 0.5])
    out = A.adjust_hue(images, shifts)
    for i in range(3):
        for r in range(6):
            for c in range(6):
                h, s, v = colorsys.rgb_to_hsv(*images[i, :, r, c].tolist())
                expected = colorsys.hsv_to_rgb((h + float(shifts[i])) % 1.0, s, v)
                torch.testing.assert_close(out[i, :, r, c], torch.tensor(expected, dtype=torch.float32), atol=1e-5, rtol=0)
    digit = torch.rand(2, 1, 4, 4)
    assert torch.equal(A.adjust_hue(digit, torch.tensor([0.2, 0.3])), digit)


def test_color_jitter_applies_the_drawn_adjustments_in_the_drawn_order():
    images = rgb(6, 5)
    out = A.color_jitter(images, gen(7), 0.4, 0.4, 0.2, 0.1, p=0.8)
    # replay the draws in the order color_jitter makes them, then apply them image by image
    g = gen(7)
    n = 6
    apply = torch.rand(n, generator=g, dtype=torch.float64) < 0.8
    draws = [torch.rand(n, generator=g, dtype=torch.float64) for _ in range(4)]
    factors = [0.6 + 0.8 * draws[0], 0.6 + 0.8 * draws[1], 0.8 + 0.4 * draws[2], -0.1 + 0.2 * draws[3]]
    order = torch.rand(n, 4, generator=g).argsort(1)
    ops = [A.adjust_brightness, A.adjust_contrast, A.adjust_saturation, A.adjust_hue]
    for i in range(n):
        x = images[i : i + 1]
        if apply[i]:
            for op in order[i].tolist():
                x = ops[op](x, factors[op][i : i + 1])
        torch.testing.assert_close(out[i : i + 1], x, atol=1e-6, rtol=0)
    assert not torch.equal(out, images)


def test_random_grayscale_and_solarize():
    images = rgb(300, 4)
    gray = A.random_grayscale(images, gen(), p=0.2)
    is_gray = (gray[:, 0] == gray[:, 1]).flatten(1).all(1) & (gray[:, 1] == gray[:, 2]).flatten(1).all(1)
    assert 0.12 < is_gray.float().mean() < 0.28
    torch.testing.assert_close(gray[is_gray], A.to_grayscale(images[is_gray]))
    assert torch.equal(gray[~is_gray], images[~is_gray])
    sol = A.solarize(images, 0.5)
    flat, src = sol.flatten(), images.flatten()
    for k in range(0, src.numel(), 97):
        assert flat[k].item() == pytest.approx(1 - src[k].item() if src[k] >= 0.5 else src[k].item())
    assert torch.equal(A.random_solarize(images, gen(), p=0.0), images)
    assert torch.equal(A.random_solarize(images, gen(), p=1.0), sol)


def test_gaussian_blur_matches_scipy_per_image():
    images = rgb(3, 11)
    sigmas = torch.tensor([0.3, 1.0, 2.0])
    out = A.gaussian_blur(images, sigmas, 5)
    for i in range(3):
        s = float(sigmas[i])
        x = np.arange(5) - 2
        kernel = np.exp(-(x**2) / (2 * s * s))
        kernel /= kernel.sum()
        for ch in range(3):
            expected = images[i, ch].double().numpy()
            # torch's "reflect" padding (d c b | a b c d) is scipy's "mirror"
            expected = ndimage.correlate1d(expected, kernel, axis=0, mode="mirror")
            expected = ndimage.correlate1d(expected, kernel, axis=1, mode="mirror")
            torch.testing.assert_close(out[i, ch], torch.from_numpy(expected).float(), atol=1e-6, rtol=0)
    assert A.default_blur_kernel(28) == 3 and A.default_blur_kernel(224) == 23
    blurred = A.random_gaussian_blur(rgb(200, 11), gen(), p=0.5)
    changed = (blurred != rgb(200, 11)).flatten(1).any(1).float().mean()
    assert 0.4 < changed < 0.6


def bilinear_zero(image, x, y):
    """Bilinear sample of one [C, H, W] image at pixel coordinates (x, y), 0 outside."""
    c, h, w = image.shape
    x0, y0 = math.floor(x), math.floor(y)
    value = torch.zeros(c, dtype=torch.float64)
    for yy in (y0, y0 + 1):
        for xx in (x0, x0 + 1):
            weight = (1 - abs(x - xx)) * (1 - abs(y - yy))
            if 0 <= xx < w and 0 <= yy < h:
                value += weight * image[:, yy, xx].double()
    return value


@pytest.mark.parametrize("h, w", [(7, 7), (6, 9)])
def test_rotation_matches_a_per_pixel_rotation(h, w):
    images = torch.rand(3, 2, h, w, generator=gen(2))
    degrees = torch.tensor([30.0, -90.0, 137.0])
    out = A.rotate(images, degrees)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    for i in range(3):
        a = math.radians(float(degrees[i]))
        for y in range(h):
            for x in range(w):
                sx = cx + math.cos(a) * (x - cx) - math.sin(a) * (y - cy)
                sy = cy + math.sin(a) * (x - cx) + math.cos(a) * (y - cy)
                torch.testing.assert_close(out[i, :, y, x].double(), bilinear_zero(images[i], sx, sy), atol=1e-5, rtol=0)


def test_rotation_by_90_degrees_turns_the_picture_counter_clockwise():
    image = torch.zeros(1, 1, 5, 5)
    image[0, 0, 2, 4] = 1.0  # right of the center
    out = A.rotate(image, torch.tensor([90.0]))
    assert out[0, 0, 0, 2].item() == pytest.approx(1.0, abs=1e-5)  # now above it
    assert out.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        A.solarize(torch.rand(3, 4, 4))
