"""Image augmentations of the SSL literature, batched over a whole [B, C, H, W] tensor on CPU or GPU.

Each transform comes in two parts: a deterministic function of explicit per-image parameters
(``resized_crop(images, boxes, size)``, ``adjust_hue(images, shifts)``, ...), which the tests check against
a direct per-image computation, and a ``random_*`` function that draws those parameters from the step's
``torch.Generator`` and applies them. Parameters are drawn on the generator's device (normally the CPU) and
then moved to the images' device, so a seed gives the same augmentations on CPU and GPU.

Semantics follow torchvision's transforms as the SimCLR / BYOL / DINO recipes use them (Chen et al. 2020,
Grill et al. 2020, Caron et al. 2021), with these deviations, all per image:
- ``random_resized_crop`` resizes bilinearly without antialiasing (torchvision antialiases tensors when it
  shrinks a crop); the crops of 28-pixel digits are mostly enlarged, where the two agree;
- ``color_jitter`` draws a fresh order of its four adjustments for every image (torchvision: one per call);
- ``random_rotation`` interpolates bilinearly (torchvision's default is nearest), filling with 0.

Images are float tensors in [0, 1]; every transform keeps them there.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

#: ITU-R 601-2 luma weights, as torchvision's ``rgb_to_grayscale``
LUMA = (0.299, 0.587, 0.114)


def _check_images(images: Tensor) -> None:
    if not isinstance(images, Tensor) or images.dim() != 4 or not images.is_floating_point():
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"augmentations take float [B, C, H, W] images in [0, 1], got {shape}")


def _uniform(n: int, low: float, high: float, generator: torch.Generator, device: torch.device) -> Tensor:
    """``n`` draws from U[low, high) made on the generator's device, returned on ``device``. Shapes: -> [n]"""
    draws = torch.rand(n, generator=generator, device=generator.device, dtype=torch.float64)
    return (low + (high - low) * draws).to(device)


def _coin(n: int, p: float, generator: torch.Generator, device: torch.device) -> Tensor:
    """``n`` Bernoulli(p) draws as a bool mask on ``device`` (always drawn, so the stream does not depend on p)."""
    return _uniform(n, 0.0, 1.0, generator, device) < p


def _apply_where(images: Tensor, mask: Tensor, fn: Callable[[Tensor, Tensor], Tensor], params: Tensor) -> Tensor:
    """``images`` with ``fn(images, params)`` in the rows where ``mask`` is set.

    On the CPU only the selected rows are computed; on an accelerator every row is computed and selected
    with ``torch.where``, which avoids the host synchronization of finding the rows.
    """
    if images.device.type != "cpu":
        return torch.where(mask.view(-1, 1, 1, 1), fn(images, params), images)
    rows = mask.nonzero().squeeze(1)
    if rows.numel() == 0:
        return images
    out = images.clone()
    out[rows] = fn(images[rows], params[rows])
    return out


# ----------------------------------------------------------------------------------------- crop, flip


def sample_crop_boxes(
    n: int,
    height: int,
    width: int,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    attempts: int = 10,
) -> Tensor:
    """Crop boxes of ``RandomResizedCrop`` (Szegedy et al. 2015, as torchvision samples them), on the generator's device.

    For each image, up to ``attempts`` tries draw an area fraction from U[scale] and a log aspect ratio from
    U[log ratio]; the first try whose box fits is used, else the largest center crop with the ratio clamped
    into ``ratio``. All tries are drawn for every image, so the random stream does not depend on the outcome.

    Shapes:
        -> [n, 4] int64: top, left, crop height, crop width
    """
    if not (0 < scale[0] <= scale[1]) or not (0 < ratio[0] <= ratio[1]):
        raise ValueError(f"scale and ratio must be increasing positive pairs, got scale={scale}, ratio={ratio}")
    device = generator.device
    draws = torch.rand(n, attempts, 4, generator=generator, device=device, dtype=torch.float64)  # [n, T, 4]
    area = height * width * (scale[0] + (scale[1] - scale[0]) * draws[..., 0])
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + (log_hi - log_lo) * draws[..., 1])
    w = torch.round(torch.sqrt(area * aspect))
    h = torch.round(torch.sqrt(area / aspect))
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)  # [n, T]
    first = torch.where(fits.any(1), fits.to(torch.int8).argmax(1), torch.zeros(n, dtype=torch.int64, device=device))
    pick = lambda t: t.gather(1, first.unsqueeze(1)).squeeze(1)  # noqa: E731  [n, T] -> [n]
    h, w = pick(h), pick(w)
    top = torch.floor(pick(draws[..., 2]) * (height - h + 1))
    left = torch.floor(pick(draws[..., 3]) * (width - w + 1))
    # fallback: a center crop of the whole image with its aspect ratio clamped into ``ratio``
    in_ratio = width / height
    if in_ratio < ratio[0]:
        fw, fh = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        fh, fw = height, int(round(height * ratio[1]))
    else:
        fw, fh = width, height
    ok = fits.any(1)
    h = torch.where(ok, h, torch.full_like(h, fh))
    w = torch.where(ok, w, torch.full_like(w, fw))
    top = torch.where(ok, top, torch.full_like(top, (height - fh) // 2))
    left = torch.where(ok, left, torch.full_like(left, (width - fw) // 2))
    return torch.stack([top, left, h, w], dim=1).to(torch.int64)


def _interpolation_matrix(start: Tensor, length: Tensor, out: int, size: int, flip: Tensor | None) -> Tensor:
    """Rows that resample ``[start, start + length)`` of an axis of ``size`` pixels to ``out`` pixels (bilinear).

    The source coordinate of output pixel ``j`` is ``(j + 0.5) * length / out - 0.5`` inside the crop, clamped
    to the crop (``F.interpolate(..., align_corners=False)`` on the cropped image).

    Shapes:
        start, length: [B] -> [B, out, size]
    """
    device = start.device
    j = torch.arange(out, device=device, dtype=torch.float64)
    if flip is not None:  # a mirrored output reads its pixels from the other end
        j = torch.where(flip.unsqueeze(1), (out - 1 - j).unsqueeze(0), j.unsqueeze(0))  # [B, out]
    length = length.to(torch.float64).unsqueeze(1)  # [B, 1]
    src = ((j + 0.5) * length / out - 0.5).clamp(min=0)  # [B, out]
    src = torch.minimum(src, length - 1)
    low = src.floor()
    frac = src - low
    high = torch.minimum(low + 1, length - 1)
    base = start.to(torch.float64).unsqueeze(1)
    matrix = torch.zeros(start.size(0), out, size, device=device, dtype=torch.float64)
    matrix.scatter_add_(2, (base + low).long().unsqueeze(2), (1 - frac).unsqueeze(2))
    matrix.scatter_add_(2, (base + high).long().unsqueeze(2), frac.unsqueeze(2))
    return matrix


def resized_crop(images: Tensor, boxes: Tensor, size: int | tuple[int, int], flip: Tensor | None = None) -> Tensor:
    """Crop each image to its box and resize it bilinearly to ``size``; optionally mirror it left-right.

    Equals ``F.interpolate(image[:, :, top:top+h, left:left+w], size, mode="bilinear", align_corners=False)``
    per image, computed for the whole batch as two matrix products (rows, then columns).

    Shapes:
        images: [B, C, H, W]; boxes: [B, 4] (top, left, h, w); flip: [B] bool or None -> [B, C, size_h, size_w]
    """
    _check_images(images)
    top, left, h, w = boxes.cpu().unbind(1)
    if bool(((top < 0) | (left < 0) | (h < 1) | (w < 1) | (top + h > images.size(2)) | (left + w > images.size(3))).any()):
        raise ValueError(f"crop boxes must lie inside the {images.size(2)}x{images.size(3)} images")
    return _resized_crop(images, boxes, size, flip)


def _resized_crop(images: Tensor, boxes: Tensor, size: int | tuple[int, int], flip: Tensor | None) -> Tensor:
    """``resized_crop`` without checking the boxes (those of ``sample_crop_boxes`` fit by construction)."""
    out_h, out_w = (size, size) if isinstance(size, int) else size
    top, left, h, w = boxes.to(images.device).unbind(1)
    rows = _interpolation_matrix(top, h, out_h, images.size(2), None).to(images.dtype)  # [B, out_h, H]
    flip = None if flip is None else flip.to(images.device)
    cols = _interpolation_matrix(left, w, out_w, images.size(3), flip).to(images.dtype)  # [B, out_w, W]
    return torch.einsum("boh,bchw,bpw->bcop", rows, images, cols)


def random_resized_crop(
    images: Tensor,
    generator: torch.Generator,
    size: int | tuple[int, int],
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    flip_p: float = 0.0,
) -> Tensor:
    """``RandomResizedCrop(size, scale, ratio)`` per image, then a left-right flip with probability ``flip_p``.

    Shapes:
        images: [B, C, H, W] -> [B, C, size_h, size_w]
    """
    _check_images(images)
    boxes = sample_crop_boxes(images.size(0), images.size(2), images.size(3), generator, scale, ratio)
    flip = _coin(images.size(0), flip_p, generator, images.device) if flip_p > 0 else None
    return _resized_crop(images, boxes, size, flip)


def horizontal_flip(images: Tensor, flip: Tensor) -> Tensor:
    """Mirror the images where ``flip`` is set. Shapes: images [B, C, H, W]; flip [B] bool -> [B, C, H, W]"""
    _check_images(images)
    return torch.where(flip.to(images.device).view(-1, 1, 1, 1), images.flip(-1), images)


def random_horizontal_flip(images: Tensor, generator: torch.Generator, p: float = 0.5) -> Tensor:
    """Mirror each image left-right with probability ``p``. Shapes: [B, C, H, W] -> [B, C, H, W]"""
    return horizontal_flip(images, _coin(images.size(0), p, generator, images.device))


# ----------------------------------------------------------------------------------------------- color


def to_grayscale(images: Tensor) -> Tensor:
    """Luma of RGB images (``LUMA`` weights) repeated over the 3 channels; 1-channel images are returned as is.

    Shapes:
        images: [B, C, H, W] with C in (1, 3) -> [B, C, H, W]
    """
    _check_images(images)
    if images.size(1) == 1:
        return images
    if images.size(1) != 3:
        raise ValueError(f"grayscale needs 1 or 3 channels, got {images.size(1)}")
    weights = images.new_tensor(LUMA).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True).expand_as(images).contiguous()


def _blend(images: Tensor, other: Tensor, factors: Tensor) -> Tensor:
    """``clamp(f * images + (1 - f) * other, 0, 1)`` per image. Shapes: factors [B]"""
    f = factors.to(images.dtype).view(-1, 1, 1, 1)
    return (f * images + (1 - f) * other).clamp(0, 1)


def adjust_brightness(images: Tensor, factors: Tensor) -> Tensor:
    """Scale each image by its factor (0 = black, 1 = unchanged). Shapes: images [B, C, H, W]; factors [B]"""
    return _blend(images, torch.zeros_like(images), factors)


def adjust_contrast(images: Tensor, factors: Tensor) -> Tensor:
    """Blend each image with the mean of its grayscale (0 = flat gray, 1 = unchanged). Shapes: factors [B]"""
    mean = to_grayscale(images)[:, :1].mean(dim=(1, 2, 3), keepdim=True)
    return _blend(images, mean, factors)


def adjust_saturation(images: Tensor, factors: Tensor) -> Tensor:
    """Blend each image with its grayscale (0 = gray, 1 = unchanged). Shapes: factors [B]"""
    return _blend(images, to_grayscale(images), factors)


def adjust_hue(images: Tensor, shifts: Tensor) -> Tensor:
    """Rotate the hue of each RGB image by its shift (a fraction of the circle, in [-0.5, 0.5]); HSV semantics.

    Equals RGB -> HSV, ``h <- (h + shift) mod 1``, HSV -> RGB (``colorsys``, torchvision's ``adjust_hue``),
    computed without the full round trip: with ``M = max(r, g, b)``, ``d = M - min(r, g, b)`` and the hue
    sector coordinate ``6h``, channel ``n`` (5, 3, 1 for red, green, blue) is ``M - d * clamp(min(k, 4 - k), 0, 1)``
    for ``k = (n + 6h) mod 6`` (the closed form of HSV -> RGB, since ``v s = d``). Grayscale (1-channel) images have no hue and are returned unchanged.

    Shapes:
        images: [B, C, H, W]; shifts: [B] -> [B, C, H, W]
    """
    _check_images(images)
    if images.size(1) == 1:
        return images
    if images.size(1) != 3:
        raise ValueError(f"hue needs 1 or 3 channels, got {images.size(1)}")
    r, g, b = images.unbind(1)
    top = images.amax(1)  # [B, H, W]
    spread = top - images.amin(1)
    safe = torch.where(spread > 0, spread, torch.ones_like(spread))
    # ties between channels give the same hue whichever case is taken
    sector = torch.where(r == top, (g - b) / safe, torch.where(g == top, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    sector = torch.remainder(sector + 6.0 * shifts.to(images.dtype).view(-1, 1, 1), 6.0)  # 6h, shifted, in [0, 6)
    n = images.new_tensor([5.0, 3.0, 1.0]).view(1, 3, 1, 1)
    k = n + sector.unsqueeze(1)  # [B, 3, H, W] in [1, 11)
    k = torch.where(k >= 6.0, k - 6.0, k)  # mod 6
    # clamp(min(k, 4 - k), 0, 1) == clamp(2 - |k - 2|, 0, 1)
    return (top.unsqueeze(1) - spread.unsqueeze(1) * (2.0 - (k - 2.0).abs()).clamp(0.0, 1.0)).clamp(0, 1)


def color_jitter(
    images: Tensor,
    generator: torch.Generator,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.2,
    hue: float = 0.1,
    p: float = 0.8,
) -> Tensor:
    """``RandomApply([ColorJitter(brightness, contrast, saturation, hue)], p)`` per image (SimCLR's strengths by default).

    Factors are drawn from U[max(0, 1 - s), 1 + s] (hue: U[-hue, hue]) and the four adjustments run in a
    random order drawn per image.

    Shapes:
        images: [B, C, H, W] -> [B, C, H, W]
    """
    _check_images(images)
    n, device = images.size(0), images.device
    apply = _coin(n, p, generator, device)
    factors = torch.stack(
        [
            _uniform(n, max(0.0, 1 - brightness), 1 + brightness, generator, device),
            _uniform(n, max(0.0, 1 - contrast), 1 + contrast, generator, device),
            _uniform(n, max(0.0, 1 - saturation), 1 + saturation, generator, device),
            _uniform(n, -hue, hue, generator, device),
        ],
        1,
    )  # [B, 4]
    order = torch.rand(n, 4, generator=generator, device=generator.device).argsort(1).to(device)  # [B, 4]
    adjustments = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
    for slot in range(4):
        # every image takes exactly one adjustment per slot: each image's row is written once
        out = images.clone() if images.device.type == "cpu" else images
        for op, adjust in enumerate(adjustments):
            chosen = apply & (order[:, slot] == op)
            if images.device.type != "cpu":
                out = torch.where(chosen.view(-1, 1, 1, 1), adjust(images, factors[:, op]), out)
                continue
            rows = chosen.nonzero().squeeze(1)
            if rows.numel():
                out[rows] = adjust(images[rows], factors[rows, op])
        images = out
    return images


def random_grayscale(images: Tensor, generator: torch.Generator, p: float = 0.2) -> Tensor:
    """Turn each image gray with probability ``p``. Shapes: [B, C, H, W] -> [B, C, H, W]"""
    mask = _coin(images.size(0), p, generator, images.device)
    return torch.where(mask.view(-1, 1, 1, 1), to_grayscale(images), images)


def solarize(images: Tensor, threshold: float = 0.5) -> Tensor:
    """Invert the pixels at or above ``threshold``: ``x -> 1 - x``. Shapes: [B, C, H, W] -> [B, C, H, W]"""
    _check_images(images)
    return torch.where(images >= threshold, 1.0 - images, images)


def random_solarize(images: Tensor, generator: torch.Generator, p: float, threshold: float = 0.5) -> Tensor:
    """Solarize each image with probability ``p`` (BYOL: 0 for the first view, 0.2 for the second)."""
    mask = _coin(images.size(0), p, generator, images.device)
    return torch.where(mask.view(-1, 1, 1, 1), solarize(images, threshold), images)


# ------------------------------------------------------------------------------------------ blur, rotation


def default_blur_kernel(image_size: int) -> int:
    """SimCLR's blur kernel, 10% of the image side, made odd and at least 3."""
    return max(3, int(0.1 * image_size) // 2 * 2 + 1)


def gaussian_kernels(sigmas: Tensor, kernel_size: int) -> Tensor:
    """Normalized 1-D Gaussian kernels, one per sigma. Shapes: sigmas [B] -> [B, kernel_size]"""
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
    x = torch.arange(kernel_size, dtype=torch.float64, device=sigmas.device) - kernel_size // 2
    weights = torch.exp(-(x**2) / (2 * sigmas.to(torch.float64).unsqueeze(1) ** 2))
    return weights / weights.sum(1, keepdim=True)


def gaussian_blur(images: Tensor, sigmas: Tensor, kernel_size: int) -> Tensor:
    """Separable Gaussian blur with one sigma per image and reflect padding (torchvision's ``gaussian_blur``).

    Shapes:
        images: [B, C, H, W]; sigmas: [B] -> [B, C, H, W]
    """
    _check_images(images)
    b, c, h, w = images.shape
    pad = kernel_size // 2
    if pad >= min(h, w):
        raise ValueError(f"blur kernel {kernel_size} is too large for {h}x{w} images (reflect padding)")
    kernels = gaussian_kernels(sigmas.to(images.device), kernel_size).to(images.dtype)  # [B, k]
    kernels = kernels.repeat_interleave(c, 0)  # [B*C, k], one per (image, channel) group
    x = images.reshape(1, b * c, h, w)
    x = F.conv2d(F.pad(x, (0, 0, pad, pad), mode="reflect"), kernels.view(b * c, 1, kernel_size, 1), groups=b * c)
    x = F.conv2d(F.pad(x, (pad, pad, 0, 0), mode="reflect"), kernels.view(b * c, 1, 1, kernel_size), groups=b * c)
    return x.reshape(b, c, h, w)


def random_gaussian_blur(
    images: Tensor,
    generator: torch.Generator,
    p: float = 0.5,
    sigma: tuple[float, float] = (0.1, 2.0),
    kernel_size: int | None = None,
) -> Tensor:
    """Blur each image with probability ``p``, sigma ~ U[sigma] (SimCLR/BYOL); kernel 10% of the side by default."""
    _check_images(images)
    n = images.size(0)
    mask = _coin(n, p, generator, images.device)
    sigmas = _uniform(n, sigma[0], sigma[1], generator, images.device)
    k = kernel_size if kernel_size is not None else default_blur_kernel(min(images.shape[-2:]))
    return _apply_where(images, mask, lambda x, s: gaussian_blur(x, s, k), sigmas)


def rotate(images: Tensor, degrees: Tensor) -> Tensor:
    """Rotate each image counter-clockwise about its center by its angle; bilinear, 0 outside the source.

    Output pixel ``(x, y)`` reads the source at ``c + R(angle) (x - cx, y - cy)`` with ``R = [[cos, -sin],
    [sin, cos]]`` in pixel coordinates (y down), so a positive angle turns the picture counter-clockwise.

    Shapes:
        images: [B, C, H, W]; degrees: [B] -> [B, C, H, W]
    """
    _check_images(images)
    b, _, h, w = images.shape
    angle = torch.deg2rad(degrees.to(device=images.device, dtype=torch.float64))
    cos, sin = torch.cos(angle), torch.sin(angle)
    # the same rotation in grid_sample's normalized coordinates (x scaled by 2/W, y by 2/H)
    theta = torch.stack(
        [torch.stack([cos, -sin * h / w, torch.zeros_like(cos)], 1), torch.stack([sin * w / h, cos, torch.zeros_like(cos)], 1)],
        1,
    ).to(images.dtype)  # [B, 2, 3]
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_rotation(images: Tensor, generator: torch.Generator, degrees: float, p: float = 1.0) -> Tensor:
    """Rotate each image, with probability ``p``, by an angle ~ U[-degrees, degrees]."""
    _check_images(images)
    n = images.size(0)
    mask = _coin(n, p, generator, images.device)
    angles = _uniform(n, -degrees, degrees, generator, images.device)
    return _apply_where(images, mask, rotate, angles)
