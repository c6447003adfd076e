"""A batch of images: the unit the image data source yields and the image methods consume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor


@dataclass(frozen=True)
class ImageBatch:
    """``B`` images of one size, float32 in [0, 1], with optional class labels and the data's normalization.

    Normalization is carried, not applied: the view recipes apply it after augmenting, so color jitter,
    solarize and grayscale act on the [0, 1] pixel values they are defined on; ``normalized()`` gives the
    encoder input without augmentation (evaluation). ``mean``/``std`` come from the data source (its
    ``describe()`` records them); None means no normalization.

    Shapes:
        images: [B, C, H, W] float32, values in [0, 1]
        labels: [B] int64, or None for unlabeled data
        mean, std: C floats each, or None
    """

    images: Tensor
    labels: Tensor | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
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
        if (self.mean is None) != (self.std is None):
            raise ValueError("ImageBatch needs both mean and std, or neither")
        if self.mean is not None:
            channels = self.images.size(1)
            if len(self.mean) != channels or len(self.std) != channels or min(self.std) <= 0:
                raise ValueError(
                    f"ImageBatch mean/std need {channels} values each (std > 0), got {self.mean} and {self.std}"
                )

    @property
    def num_images(self) -> int:
        """``B``, the number of images."""
        return self.images.size(0)

    def __len__(self) -> int:
        return self.images.size(0)

    def normalize(self, images: Tensor) -> Tensor:
        """``(images - mean) / std`` per channel with this batch's normalization (unchanged when it has none).

        Shapes:
            images: [N, C, H', W'] -> [N, C, H', W']
        """
        if self.mean is None:
            return images
        mean = images.new_tensor(self.mean).view(1, -1, 1, 1)
        std = images.new_tensor(self.std).view(1, -1, 1, 1)
        return (images - mean) / std

    def normalized(self) -> Tensor:
        """The images as the encoder takes them, without augmentation. Shapes: -> [B, C, H, W]"""
        return self.normalize(self.images)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> ImageBatch:
        """This batch with its tensors on ``device``."""
        labels = None if self.labels is None else self.labels.to(device, non_blocking=non_blocking)
        return ImageBatch(self.images.to(device, non_blocking=non_blocking), labels, self.mean, self.std)
