"""The image view recipes of ``molssl.views``: "simclr", "byol" (asymmetric), "multicrop" (DINO) and "mae".

Each recipe turns an ``ImageBatch`` into augmented, normalized views with the batched transforms of
``molssl.vision.augment``, every draw from the step's generator. Defaults are the papers' ImageNet recipes:

- "simclr" (Chen et al., ICML 2020, appendix A): random resized crop (0.08-1), flip 0.5, color jitter of
  strength 1 (0.8, 0.8, 0.8, 0.2) with p 0.8, grayscale 0.2, Gaussian blur p 0.5; both views alike.
- "byol" (Grill et al., NeurIPS 2020, table 6): crop and flip as SimCLR, jitter (0.4, 0.4, 0.2, 0.1) p 0.8,
  grayscale 0.2; blur p 1.0 / 0.1 and solarize p 0.0 / 0.2 for the first / second view.
- "multicrop" (Caron et al., ICCV 2021, DINO): 2 global crops (scale 0.4-1, the image's size) with the BYOL
  asymmetry, then ``n_local`` local crops (scale 0.05-0.4, 96/224 of the size) with blur p 0.5.
- "mae" (He et al., CVPR 2022, appendix A.1; scale 0.2-1 in its code): one view, a random resized crop and a
  flip (p 0.5), no color changes, blur or solarization.

Every option can be overridden (e.g. ``flip_p=0`` and a milder ``crop_scale`` for digits); ``rotation``
(degrees, default 0) adds a random rotation. The blur kernel is 10% of the output size (at least 3).
Grayscale, saturation and hue leave 1-channel images unchanged.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from molssl.views import register_views
from molssl.vision import augment as A
from molssl.vision.batch import ImageBatch

SIMCLR_JITTER = (0.8, 0.8, 0.8, 0.2)
BYOL_JITTER = (0.4, 0.4, 0.2, 0.1)


def augment_view(
    batch: ImageBatch,
    generator: torch.Generator,
    *,
    size: int | None = None,
    crop_scale: Sequence[float] = (0.08, 1.0),
    flip_p: float = 0.5,
    jitter: Sequence[float] = BYOL_JITTER,
    jitter_p: float = 0.8,
    gray_p: float = 0.2,
    blur_p: float = 0.5,
    solarize_p: float = 0.0,
    rotation: float = 0.0,
) -> Tensor:
    """One augmented, normalized view of every image: crop + flip, rotation, jitter, grayscale, blur, solarize.

    Shapes:
        batch.images: [B, C, H, W] -> [B, C, size, size] (``size`` defaults to H)
    """
    if not isinstance(batch, ImageBatch):
        raise TypeError(f"image view recipes take an ImageBatch, got {type(batch).__name__}")
    if len(jitter) != 4:
        raise ValueError(f"jitter must be 4 strengths (brightness, contrast, saturation, hue), got {jitter!r}")
    out_size = size if size is not None else batch.images.size(2)
    images = A.random_resized_crop(batch.images, generator, out_size, scale=tuple(crop_scale), flip_p=flip_p)
    if rotation:
        images = A.random_rotation(images, generator, rotation)
    images = A.color_jitter(images, generator, *jitter, p=jitter_p)
    images = A.random_grayscale(images, generator, p=gray_p)
    images = A.random_gaussian_blur(images, generator, p=blur_p)
    images = A.random_solarize(images, generator, p=solarize_p)
    return batch.normalize(images)


def simclr_views(batch: ImageBatch, generator: torch.Generator, **options) -> list[Tensor]:
    """SimCLR's two identically distributed views. Shapes: -> 2 x [B, C, S, S]"""
    options = {"jitter": SIMCLR_JITTER, "blur_p": 0.5, **options}
    return [augment_view(batch, generator, **options) for _ in range(2)]


def byol_views(
    batch: ImageBatch,
    generator: torch.Generator,
    *,
    blur_p: Sequence[float] = (1.0, 0.1),
    solarize_p: Sequence[float] = (0.0, 0.2),
    **options,
) -> list[Tensor]:
    """BYOL's two asymmetric views (blur and solarize probabilities per view). Shapes: -> 2 x [B, C, S, S]"""
    return [augment_view(batch, generator, blur_p=blur_p[i], solarize_p=solarize_p[i], **options) for i in range(2)]


def multicrop_views(
    batch: ImageBatch,
    generator: torch.Generator,
    *,
    n_local: int = 8,
    global_scale: Sequence[float] = (0.4, 1.0),
    local_scale: Sequence[float] = (0.05, 0.4),
    local_size: int | None = None,
    **options,
) -> list[Tensor]:
    """DINO's multi-crop: 2 global views (BYOL's asymmetry) then ``n_local`` small local views.

    Shapes:
        -> 2 x [B, C, H, H] then n_local x [B, C, L, L], with L = ``local_size`` (default round(H * 96 / 224))
    """
    if "crop_scale" in options or "size" in options:
        raise ValueError("multicrop takes global_scale/local_scale and local_size, not crop_scale/size")
    height = batch.images.size(2)
    small = local_size if local_size is not None else max(4, round(height * 96 / 224))
    views = byol_views(batch, generator, crop_scale=global_scale, **options)
    local = {**options, "blur_p": 0.5, "solarize_p": 0.0}
    views += [augment_view(batch, generator, size=small, crop_scale=local_scale, **local) for _ in range(n_local)]
    return views


def mae_views(
    batch: ImageBatch,
    generator: torch.Generator,
    *,
    size: int | None = None,
    crop_scale: Sequence[float] = (0.2, 1.0),
    flip_p: float = 0.5,
) -> list[Tensor]:
    """MAE's one view: a random resized crop and a flip, normalized. Shapes: -> 1 x [B, C, S, S] (S = ``size`` or H)"""
    if not isinstance(batch, ImageBatch):
        raise TypeError(f"image view recipes take an ImageBatch, got {type(batch).__name__}")
    out_size = size if size is not None else batch.images.size(2)
    return [batch.normalize(A.random_resized_crop(batch.images, generator, out_size, scale=tuple(crop_scale), flip_p=flip_p))]


register_views("image", "simclr", simclr_views)
register_views("image", "byol", byol_views)
register_views("image", "multicrop", multicrop_views)
register_views("image", "mae", mae_views)
