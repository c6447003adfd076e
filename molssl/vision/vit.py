"""Vision Transformer encoder (Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021) with the MAE token API.

Patch embedding (a ``patch x patch`` convolution with stride ``patch``), a learned class token, fixed 2-D
sine-cosine position embeddings (as MAE, He et al., CVPR 2022, uses for its encoder), ``depth`` pre-LN
blocks (``x + attn(LN(x))``, ``x + MLP(LN(x))``) whose attention is ``torch.nn.functional.
scaled_dot_product_attention``, and a final LayerNorm. The pooled embedding is the class token's output.

For MAE, ``forward_tokens(x, keep)`` encodes only the patches listed in ``keep`` (position embeddings are added
before the selection, so each kept patch knows where it came from) and ``patchify``/``unpatchify`` convert
between images and per-patch pixel vectors (each patch flattened row by row, channels last, as in MAE).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.nn.encoders import register_encoder
from molssl.ssl.checks import check_positive_float, check_positive_int, kind_config_kwargs


@dataclass(frozen=True, kw_only=True)
class ViTConfig:
    """Configuration of ``ViT`` (plain data: ``to_dict`` / ``from_dict`` round-trip through JSON).

    Attributes:
        image_size: height = width of the input images; a multiple of ``patch_size``.
        patch_size: side of the square patches.
        in_channels: image channels.
        dim: token width ``D``; a multiple of ``heads``.
        depth: number of transformer blocks.
        heads: attention heads per block.
        mlp_ratio: hidden width of each block's MLP as a multiple of ``dim`` (ViT: 4).
    """

    kind: ClassVar[str] = "vit"
    image_size: int = 28
    patch_size: int = 4
    in_channels: int = 1
    dim: int = 192
    depth: int = 6
    heads: int = 3
    mlp_ratio: float = 4.0

    def __post_init__(self) -> None:
        for name in ("image_size", "patch_size", "in_channels", "dim", "depth", "heads"):
            check_positive_int(f"ViTConfig.{name}", getattr(self, name))
        check_positive_float("ViTConfig.mlp_ratio", self.mlp_ratio)
        if self.image_size % self.patch_size:
            raise ValueError(
                f"ViTConfig.image_size {self.image_size} must be a multiple of patch_size {self.patch_size}"
            )
        if self.dim % self.heads:
            raise ValueError(f"ViTConfig.dim {self.dim} must be a multiple of heads {self.heads}")
        if self.dim % 4:
            raise ValueError(f"ViTConfig.dim {self.dim} must be a multiple of 4 (2-D sine-cosine positions)")

    @property
    def out_dim(self) -> int:
        """Size of the pooled embedding, ``dim``."""
        return self.dim

    @property
    def grid_size(self) -> int:
        """Patches per side."""
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        """``L``, the number of patch tokens."""
        return self.grid_size**2

    def to_dict(self) -> dict[str, Any]:
        """Plain data with ``kind`` first, for config.json."""
        return {"kind": self.kind, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ViTConfig:
        """The config of ``to_dict`` output; unknown keys or another ``kind`` are errors."""
        return cls(**kind_config_kwargs(cls, data))


def sincos_positions_2d(dim: int, grid_size: int) -> Tensor:
    """Fixed 2-D sine-cosine position embeddings of a ``grid_size x grid_size`` patch grid (MAE's encoder).

    Half of the dims encode the row, half the column; each half is ``sin(p * w_k), cos(p * w_k)`` with
    ``w_k = 10000^(-k / (dim/4))``.

    Shapes:
        output: [grid_size * grid_size, dim], patches in row-major order
    """
    quarter = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)  # [dim/4]
    coords = torch.arange(grid_size, dtype=torch.float64)
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")  # [G, G] each

    def encode(p: Tensor) -> Tensor:
        angles = p.reshape(-1, 1) * omega  # [G*G, dim/4]
        return torch.cat([angles.sin(), angles.cos()], dim=1)  # [G*G, dim/2]

    return torch.cat([encode(rows), encode(cols)], dim=1).float()  # [G*G, dim]


class Attention(nn.Module):
    """Multi-head self-attention on ``F.scaled_dot_product_attention``.

    Shapes:
        x: [B, N, D] -> [B, N, D]
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads)  # [B, N, 3, H, D/H]
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B, H, N, D/H]
        out = F.scaled_dot_product_attention(q, k, v)  # [B, H, N, D/H]
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-LN transformer block: ``x + attn(LN(x))`` then ``x + MLP(LN(x))`` (GELU MLP).

    Shapes:
        x: [B, N, D] -> [B, N, D]
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = int(round(dim * mlp_ratio))
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """ViT encoder: images -> class-token embedding, plus the MAE token API.

    Shapes:
        x: [B, in_channels, image_size, image_size] (normalized pixels) -> [B, dim]
    """

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.config = config
        self.patch_embed = nn.Conv2d(config.in_channels, config.dim, config.patch_size, stride=config.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.dim))
        self.register_buffer("positions", sincos_positions_2d(config.dim, config.grid_size), persistent=False)
        self.blocks = nn.ModuleList(Block(config.dim, config.heads, config.mlp_ratio) for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.dim)
        # initialization of MAE / timm: patch projection like a linear layer (xavier), tokens N(0, 0.02)
        nn.init.xavier_uniform_(self.patch_embed.weight.view(config.dim, -1))
        nn.init.normal_(self.cls_token, std=0.02)
        for module in self.blocks.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    @property
    def out_dim(self) -> int:
        return self.config.out_dim

    @property
    def num_patches(self) -> int:
        """``L``, patch tokens per image."""
        return self.config.num_patches

    def _check_images(self, x: Tensor) -> None:
        c, s = self.config.in_channels, self.config.image_size
        if x.dim() != 4 or tuple(x.shape[1:]) != (c, s, s):
            raise ValueError(f"ViT expects [B, {c}, {s}, {s}] images, got shape {tuple(x.shape)}; set its image_size "
                             "to the input's (--encoder-option image_size=N; a spectrogram is n_mels x frames, "
                             "which must be equal)")  # fmt: skip

    def patchify(self, x: Tensor) -> Tensor:
        """Split images into flattened patches (row-major patch order; pixels row by row, channels last).

        Shapes:
            x: [B, C, H, W] -> [B, L, patch * patch * C]
        """
        self._check_images(x)
        b, c = x.shape[:2]
        g, p = self.config.grid_size, self.config.patch_size
        x = x.reshape(b, c, g, p, g, p)  # [B, C, gh, p, gw, q]
        return x.permute(0, 2, 4, 3, 5, 1).reshape(b, g * g, p * p * c)  # [B, gh*gw, p*q*C]

    def unpatchify(self, patches: Tensor) -> Tensor:
        """Inverse of ``patchify``.

        Shapes:
            patches: [B, L, patch * patch * C] -> [B, C, H, W]
        """
        g, p, c = self.config.grid_size, self.config.patch_size, self.config.in_channels
        if patches.dim() != 3 or tuple(patches.shape[1:]) != (g * g, p * p * c):
            raise ValueError(f"unpatchify expects [B, {g * g}, {p * p * c}], got shape {tuple(patches.shape)}")
        b = patches.size(0)
        x = patches.reshape(b, g, g, p, p, c)  # [B, gh, gw, p, q, C]
        return x.permute(0, 5, 1, 3, 2, 4).reshape(b, c, g * p, g * p)

    def forward_tokens(self, x: Tensor, keep: Tensor | None = None) -> Tensor:
        """Encode the class token and the kept patches; outputs after the final LayerNorm.

        Args:
            x: images.
            keep: indices of the patches to encode per image (row-major patch numbering), or None for all.
                Positions are added before the selection.

        Shapes:
            x: [B, C, H, W]; keep: [B, L_keep] int64 -> [B, 1 + L_keep, D], class token first
        """
        self._check_images(x)
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2) + self.positions  # [B, L, D]
        if keep is not None:
            if keep.dim() != 2 or keep.size(0) != x.size(0) or keep.dtype != torch.int64:
                raise ValueError(f"keep must be [B, L_keep] int64 with B={x.size(0)}, got {tuple(keep.shape)} {keep.dtype}")
            tokens = torch.gather(tokens, 1, keep.unsqueeze(-1).expand(-1, -1, tokens.size(-1)))  # [B, L_keep, D]
        tokens = torch.cat([self.cls_token.expand(x.size(0), -1, -1), tokens], dim=1)  # [B, 1 + L_keep, D]
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_tokens(x)[:, 0]

    def encode(self, x: Tensor) -> Tensor:
        """The pooled embedding (same as ``forward``), the loop contract's name."""
        return self.forward(x)


register_encoder("vit", ViTConfig, ViT)
