"""A batch of images: the unit the image data source yields and the image methods consume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor


@dataclass(frozen=True)
class ImageBatch:
    """``B`` images of one size, float32 in [0, 1], with optional class labels.

    Normalization (mean/std) is not applied here: the view recipes apply it after augmenting, so color
    jitter, solarize and grayscale act on the [0, 1] pixel values they are defined on.

    Shapes:
        images: [B, C, H, W] float32, values in [0, 1]
        labels: [B] int64, or None for unlabeled data
    """

    images: Tensor
    labels: Tensor | None = None
    modality: ClassVar[str] = "image"

    def __post_init__(self) -> None:
        if not isinstance(self.images, Tensor):
            raise TypeError(f"ImageBatch.images must be a torch.Tensor, got {type(self.images).__name__}")
        if self.images.dim() != 4:
            raise ValueError(f"ImageBatch.images must be [B, C, H, W], got shape {tuple(self.images.shape)}")
        if self.images.dtype != torch.float32:
            raise ValueError(f"ImageBatch.images must be float32 in [0, 1], got {self.images.dtype}")
        if self.labels is not None:
            if not isinstance(self.labels, Tensor) or self.labels.dtype != torch.int64 or self.labels.dim() != 1:
                got = tuple(self.labels.shape) if isinstance(self.labels, Tensor) else type(self.labels).__name__
                raise ValueError(f"ImageBatch.labels must be a [B] int64 tensor or None, got {got}")
            if self.labels.size(0) != self.images.size(0):
                raise ValueError(
                    f"ImageBatch has {self.images.size(0)} images but {self.labels.size(0)} labels"
                )

    @property
    def num_images(self) -> int:
        """``B``, the number of images."""
        return self.images.size(0)

    def __len__(self) -> int:
        return self.images.size(0)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> ImageBatch:
        """This batch with its tensors on ``device``."""
        labels = None if self.labels is None else self.labels.to(device, non_blocking=non_blocking)
        return ImageBatch(self.images.to(device, non_blocking=non_blocking), labels)
