"""ResNet image encoder with the ResNet-18 layout (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016).

Four stages of basic blocks (two 3x3 convolutions with batch norm and a residual connection), widths
``w, 2w, 4w, 8w``, strides ``1, 2, 2, 2``, global average pooling. The ImageNet stem is a 7x7/2 convolution
followed by a 3x3/2 max pool; ``small_images=True`` replaces it with one 3x3/1 convolution and no pool, as
SimCLR (Chen et al., ICML 2020, appendix B.9) and solo-learn do for 32x32 CIFAR images, so a 28x28 digit is
not reduced to 1x1 before the last stage.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import torch
from torch import Tensor, nn

from molssl.nn.encoders import register_encoder
from molssl.ssl.checks import check_positive_int, kind_config_kwargs


@dataclass(frozen=True, kw_only=True)
class ResNetConfig:
    """Configuration of ``ResNet`` (plain data: ``to_dict`` / ``from_dict`` round-trip through JSON).

    Attributes:
        width: channels of the first stage ``w`` (ResNet-18: 64); the embedding has ``8 * w`` dims.
        in_channels: image channels (1 for grayscale, 3 for RGB).
        small_images: 3x3/1 stem without max pool (for images of 32 pixels or less) instead of 7x7/2 + pool.
        blocks: basic blocks per stage (ResNet-18: ``(2, 2, 2, 2)``; smaller for tests).
    """

    kind: ClassVar[str] = "resnet"
    width: int = 64
    in_channels: int = 3
    small_images: bool = False
    blocks: tuple[int, ...] = (2, 2, 2, 2)

    def __post_init__(self) -> None:
        check_positive_int("ResNetConfig.width", self.width)
        check_positive_int("ResNetConfig.in_channels", self.in_channels)
        if not isinstance(self.small_images, bool):
            raise ValueError(f"ResNetConfig.small_images must be a bool, got {self.small_images!r}")
        blocks = tuple(self.blocks) if isinstance(self.blocks, (list, tuple)) else self.blocks
        if not isinstance(blocks, tuple) or len(blocks) != 4:
            raise ValueError(f"ResNetConfig.blocks must be 4 block counts (one per stage), got {self.blocks!r}")
        for count in blocks:
            check_positive_int("ResNetConfig.blocks[i]", count)
        object.__setattr__(self, "blocks", blocks)

    @property
    def out_dim(self) -> int:
        """Size of the pooled embedding, ``8 * width``."""
        return 8 * self.width

    def to_dict(self) -> dict[str, Any]:
        """Plain data with ``kind`` first, for config.json."""
        data = {"kind": self.kind, **dataclasses.asdict(self)}
        data["blocks"] = list(self.blocks)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResNetConfig:
        """The config of ``to_dict`` output; unknown keys or another ``kind`` are errors."""
        return cls(**kind_config_kwargs(cls, data))


class BasicBlock(nn.Module):
    """Two 3x3 conv + batch norm layers with a residual connection (projected by a 1x1 conv when the shape changes).

    Shapes:
        input: [B, in_channels, H, W] -> [B, channels, H / stride, W / stride]
    """

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet-18-layout encoder: images -> pooled embeddings.

    Shapes:
        x: [B, in_channels, H, W] (normalized pixels) -> [B, 8 * width]
    """

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        if config.small_images:
            self.stem = nn.Sequential(
                nn.Conv2d(config.in_channels, w, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(config.in_channels, w, 7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(w),
                nn.ReLU(),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
        layers: list[nn.Module] = []
        in_channels = w
        for stage, count in enumerate(config.blocks):
            channels = w * 2**stage
            for i in range(count):
                layers.append(BasicBlock(in_channels, channels, stride=2 if stage > 0 and i == 0 else 1))
                in_channels = channels
        self.stages = nn.Sequential(*layers)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        # zero-init the last BN of each residual branch (Goyal et al. 2017): every block starts as identity
        for module in self.modules():
            if isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)

    @property
    def out_dim(self) -> int:
        return self.config.out_dim

    def feature_map(self, x: Tensor) -> Tensor:
        """The last stage's feature map before pooling.

        Shapes:
            x: [B, in_channels, H, W] -> [B, 8 * width, H', W']
        """
        if x.dim() != 4 or x.size(1) != self.config.in_channels:
            raise ValueError(
                f"ResNet expects [B, {self.config.in_channels}, H, W] images, got shape {tuple(x.shape)}"
            )
        return self.stages(self.stem(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.feature_map(x).mean(dim=(2, 3))

    def encode(self, x: Tensor) -> Tensor:
        """The pooled embedding (same as ``forward``), the loop contract's name."""
        return self.forward(x)


register_encoder("resnet", ResNetConfig, ResNet)
