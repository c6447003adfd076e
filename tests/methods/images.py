"""Real MNIST digits, tiny image encoders and a short training loop for the image-method tests."""

from __future__ import annotations

import functools

import torch

from molssl.methods.base import PretrainMethod
from molssl.vision.batch import ImageBatch
from molssl.vision.resnet import ResNetConfig
from molssl.vision.vit import ViTConfig

#: a ResNet-18 layout at width 8 with one block per stage (64-d embedding)
TINY_RESNET = ResNetConfig(width=8, in_channels=1, small_images=True, blocks=(1, 1, 1, 1))
#: a two-block ViT on 7x7 patches of 28x28 digits (16 patches, 32-d tokens)
TINY_VIT = ViTConfig(image_size=28, patch_size=7, in_channels=1, dim=32, depth=2, heads=2)
#: digit views for small images: milder crops than ImageNet's, no flips (digits are not symmetric)
DIGIT_VIEWS = {"crop_scale": [0.5, 1.0], "flip_p": 0.0}


@functools.cache
def mnist_source():
    """The embedded 5,000 MNIST digits (``molssl.vision.data``)."""
    from molssl.vision.data import open_image_source

    return open_image_source(None)


def mnist_batch(n: int = 32, start: int = 0) -> ImageBatch:
    """Digits ``start .. start + n`` of the embedded sample, as a batch."""
    return mnist_source().batch(torch.arange(start, start + n))


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def train(method: PretrainMethod, steps: int, batch_size: int = 64, lr: float = 1e-3, seed: int = 0) -> list[float]:
    """Train ``method`` for ``steps`` Adam steps on consecutive MNIST batches; the loss of every step."""
    torch.manual_seed(seed)
    source = mnist_source()
    order = torch.randperm(len(source), generator=generator(seed))
    if hasattr(method, "set_total_steps"):
        method.set_total_steps(steps)
    optimizer = torch.optim.Adam(method.parameters(), lr=lr)
    method.train()
    losses = []
    for step in range(steps):
        start = (step * batch_size) % (len(source) - batch_size)
        output = method(source.batch(order[start : start + batch_size]), generator(1000 * seed + step))
        optimizer.zero_grad(set_to_none=True)
        output.loss.backward()
        optimizer.step()
        losses.append(output.loss.item())
    return losses


def digit_knn_split(encoder: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """kNN bank (even-numbered digits) and queries (odd-numbered; the file is sorted by class) embedded by ``encoder``.

    Shapes:
        -> bank [2500, D], bank labels [2500], queries [2500, D], query labels [2500]
    """
    from molssl.eval.probe import embed

    z, y = embed(encoder, mnist_source())
    return z[0::2], y[0::2], z[1::2], y[1::2]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def tiny_run(**train):
    """Loop options for short CPU runs on the digits."""
    from molssl.pretrain import TrainConfig

    options = {"steps": 8, "batch_size": 32, "log_every": 2, "checkpoint_every": 4, "progress": False, "device": "cpu"}
    return TrainConfig(**{**options, **train})


#: the tiny encoders as the loop takes them (``encoder=``); the channels come from the data
TINY_RESNET_OPTIONS = {"kind": "resnet", "width": 8, "small_images": True, "blocks": [1, 1, 1, 1]}
TINY_VIT_OPTIONS = {"kind": "vit", "image_size": 28, "patch_size": 7, "dim": 32, "depth": 2, "heads": 2}
