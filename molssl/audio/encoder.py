"""BYOL-A's convolutional audio encoder (Niizumi et al., "BYOL for Audio", IJCNN 2021), encoder kind ``"byola_cnn"``.

The encoder of BYOL-A (its ``AudioNTT2020``, after the DCASE 2020 task 6 baseline): three blocks of a 3x3
convolution (``width`` channels), batch norm, ReLU and 2x2 max pooling over a log-mel spectrogram; the feature
maps of each remaining time step are flattened over frequency and channels and go through ``Linear -> ReLU ->
Dropout(0.3) -> Linear -> ReLU`` of width ``dim``; the clip's embedding is the max plus the mean over time.
Any number of frames (at least 8) is accepted; the mel bands are fixed by the config.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import torch
from torch import Tensor, nn

from molssl.nn.encoders import register_encoder
from molssl.ssl.checks import check_positive_int, check_unit_interval, kind_config_kwargs

#: halvings of the time and frequency axes by the three max-pooling layers
POOLINGS = 3


@dataclass(frozen=True, kw_only=True)
class ByolaCNNConfig:
    """Configuration of ``ByolaCNN`` (plain data: ``to_dict`` / ``from_dict`` round-trip through JSON).

    Attributes:
        in_channels: input channels (1 for a log-mel spectrogram).
        n_mels: mel bands of the input; a multiple of 8.
        width: channels of the three convolutions (BYOL-A: 64).
        dim: width of the two linear layers and of the embedding (BYOL-A: 512 to 2048; 512 in its first paper).
        dropout: dropout between the linear layers (BYOL-A: 0.3).
    """

    kind: ClassVar[str] = "byola_cnn"
    in_channels: int = 1
    n_mels: int = 64
    width: int = 64
    dim: int = 512
    dropout: float = 0.3

    def __post_init__(self) -> None:
        for name in ("in_channels", "n_mels", "width", "dim"):
            check_positive_int(f"ByolaCNNConfig.{name}", getattr(self, name))
        check_unit_interval("ByolaCNNConfig.dropout", self.dropout)
        if self.n_mels % 2**POOLINGS:
            raise ValueError(f"ByolaCNNConfig.n_mels {self.n_mels} must be a multiple of {2**POOLINGS} (three 2x2 poolings)")

    @property
    def out_dim(self) -> int:
        """Size of the embedding, ``dim``."""
        return self.dim

    def to_dict(self) -> dict[str, Any]:
        """Plain data with ``kind`` first, for config.json."""
        return {"kind": self.kind, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ByolaCNNConfig:
        """The config of ``to_dict`` output; unknown keys or another ``kind`` are errors."""
        return cls(**kind_config_kwargs(cls, data))


class ByolaCNN(nn.Module):
    """BYOL-A's encoder: three conv blocks, a per-frame MLP, max + mean over time.

    Shapes:
        x: [B, in_channels, n_mels, frames] (normalized log-mel, frames >= 8) -> [B, dim]
    """

    def __init__(self, config: ByolaCNNConfig) -> None:
        super().__init__()
        self.config = config
        blocks: list[nn.Module] = []
        channels = config.in_channels
        for _ in range(POOLINGS):
            blocks += [nn.Conv2d(channels, config.width, 3, padding=1), nn.BatchNorm2d(config.width), nn.ReLU(),
                       nn.MaxPool2d(2)]  # fmt: skip
            channels = config.width
        self.features = nn.Sequential(*blocks)
        bands = config.n_mels // 2**POOLINGS
        self.frame_mlp = nn.Sequential(nn.Linear(config.width * bands, config.dim), nn.ReLU(), nn.Dropout(config.dropout),
                                       nn.Linear(config.dim, config.dim), nn.ReLU())  # fmt: skip

    @property
    def out_dim(self) -> int:
        return self.config.out_dim

    def frame_embeddings(self, x: Tensor) -> Tensor:
        """One embedding per remaining time step. Shapes: x [B, C, M, F] -> [B, F / 8, dim]"""
        c, m = self.config.in_channels, self.config.n_mels
        if x.dim() != 4 or x.size(1) != c or x.size(2) != m or x.size(3) < 2**POOLINGS:
            raise ValueError(f"ByolaCNN expects [B, {c}, {m}, frames >= {2**POOLINGS}] spectrograms, got {tuple(x.shape)}")
        features = self.features(x)  # [B, width, M / 8, F / 8]
        b, width, bands, steps = features.shape
        return self.frame_mlp(features.permute(0, 3, 1, 2).reshape(b, steps, width * bands))  # [B, F / 8, dim]

    def forward(self, x: Tensor) -> Tensor:
        frames = self.frame_embeddings(x)
        return frames.amax(dim=1) + frames.mean(dim=1)

    def encode(self, x: Tensor) -> Tensor:
        """The pooled embedding (same as ``forward``), the loop contract's name."""
        return self.forward(x)


register_encoder("byola_cnn", ByolaCNNConfig, ByolaCNN)
