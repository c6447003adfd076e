"""MAE: reconstruct the pixels of randomly masked patches from the visible ones (He et al., CVPR 2022).

He, Chen, Xie, Li, Dollar & Girshick, "Masked Autoencoders Are Scalable Vision Learners" (CVPR 2022).
Each image (the first view of the modality's recipe; images: the ``"mae"`` recipe, MAE's augmentation,
a random resized crop of scale 0.2-1 and a flip, no color changes or blur) is cut into
patches; a random 75% of every image's patches are hidden (exactly that many per image:
``molssl.ssl.span_mask`` with spans of one patch), the encoder (a ViT with the MAE token API:
``forward_tokens(x, keep)``, ``patchify``, ``num_patches``) encodes only the visible ones, and a small
transformer decoder (this file) sees the encoded patches plus a shared learned mask token at every
hidden position, each with fixed 2-D sine-cosine position embeddings, and predicts every patch's
pixels. The loss is the mean squared error on the hidden patches only, against pixels normalized per
patch (``norm_pix_loss``, the paper's better target: each patch minus its mean, over its standard
deviation).

Defaults and deviations: the paper's mask ratio 0.75 and normalized-pixel target; its decoder is 8
blocks of width 512 with 16 heads (defaults here; shrink them with small encoders). The decoder's
blocks are the encoder's pre-LN block (``molssl.vision.vit.Block``). Optimizer and schedule are the
loop's (the paper: AdamW, lr 1.5e-4 x batch / 256, weight decay 0.05, cosine with 40 warm-up epochs).
The encoder's patch grid must be square. A recipe that makes several views (e.g. audio's ``"byola"``)
has its first view reconstructed and the others discarded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from molssl.methods.base import MethodOutput
from molssl.methods.joint_embedding import JointEmbeddingConfig, JointEmbeddingMethod
from molssl.ssl.checks import check_fraction, check_positive_float, check_positive_int
from molssl.ssl.masking import segment_mask_counts, span_mask
from molssl.vision.vit import Block, sincos_positions_2d

#: what an encoder must offer for MAE
TOKEN_API = ("forward_tokens", "patchify", "num_patches")


def masked_patch_loss(prediction: Tensor, patches: Tensor, mask: Tensor, norm_pix: bool = True, eps: float = 1e-6) -> Tensor:
    """MAE's reconstruction loss: mean squared error per patch, averaged over the hidden patches only.

    With ``norm_pix`` the target of each patch is its pixels minus their mean over their (unbiased)
    standard deviation, ``(p - mean) / sqrt(var + eps)``, as MAE's ``norm_pix_loss``.

    Shapes:
        prediction, patches: [B, L, P]; mask: [B, L] bool (True = hidden) -> output: [] scalar
    """
    if prediction.shape != patches.shape or mask.shape != patches.shape[:2]:
        raise ValueError(f"prediction {tuple(prediction.shape)}, patches {tuple(patches.shape)} and mask "
                         f"{tuple(mask.shape)} must be [B, L, P], [B, L, P] and [B, L]")  # fmt: skip
    target = patches
    if norm_pix:
        target = (patches - patches.mean(dim=-1, keepdim=True)) / torch.sqrt(patches.var(dim=-1, keepdim=True) + eps)
    per_patch = (prediction - target).square().mean(dim=-1)  # [B, L]
    hidden = mask.to(per_patch.dtype)
    return (per_patch * hidden).sum() / hidden.sum().clamp(min=1.0)


def _patch_dim(encoder: nn.Module) -> int:
    """P, the values per patch ``patchify`` makes: the encoder's ``patch_dim``, else from a ViT's config."""
    if hasattr(encoder, "patch_dim"):
        return int(encoder.patch_dim)
    config = encoder.config
    return config.patch_size**2 * config.in_channels


class MAEDecoder(nn.Module):
    """MAE's decoder: encoded visible patches plus mask tokens, in place, through pre-LN blocks, to pixels.

    Args:
        encoder_dim: width of the encoder's tokens.
        num_patches: L, patches per image (a square grid).
        patch_dim: P, pixels per patch (``patch * patch * channels``).
        dim, depth, heads, mlp_ratio: the decoder's width, blocks, heads and MLP ratio.

    Shapes:
        tokens: [B, 1 + L_keep, encoder_dim] (class token first); keep: [B, L_keep]; mask: [B, L] -> [B, L, P]
    """

    def __init__(self, encoder_dim: int, num_patches: int, patch_dim: int, dim: int, depth: int, heads: int,
                 mlp_ratio: float = 4.0) -> None:  # fmt: skip
        super().__init__()
        grid = math.isqrt(num_patches)
        if grid * grid != num_patches:
            raise ValueError(f"MAE's decoder needs a square patch grid, got {num_patches} patches")
        self.embed = nn.Linear(encoder_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.register_buffer("positions", sincos_positions_2d(dim, grid), persistent=False)  # [L, dim]
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.predict = nn.Linear(dim, patch_dim)
        nn.init.normal_(self.mask_token, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):  # MAE's initialization
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, tokens: Tensor, keep: Tensor, mask: Tensor) -> Tensor:
        x = self.embed(tokens)  # [B, 1 + L_keep, dim]
        b, length = mask.shape
        visible = torch.zeros(b, length, x.size(-1), dtype=x.dtype, device=x.device)
        visible = visible.scatter(1, keep.unsqueeze(-1).expand(-1, -1, x.size(-1)), x[:, 1:])  # back in place
        patches = torch.where(mask.unsqueeze(-1), self.mask_token.to(x.dtype), visible) + self.positions  # [B, L, dim]
        x = torch.cat([x[:, :1], patches], dim=1)  # the class token has no position, as in MAE
        for block in self.blocks:
            x = block(x)
        return self.predict(self.norm(x)[:, 1:])  # [B, L, P]


@dataclass(frozen=True, kw_only=True)
class MAEConfig(JointEmbeddingConfig):
    """Options of MAE.

    Attributes:
        mask_ratio: fraction of every image's patches hidden (paper: 0.75).
        norm_pix_loss: reconstruct per-patch normalized pixels (paper: True, its better target).
        decoder_dim: decoder width (paper: 512).
        decoder_depth: decoder blocks (paper: 8).
        decoder_heads: decoder attention heads (paper: 16).
        decoder_mlp_ratio: decoder MLP width over its width (paper: 4).
    """

    mask_ratio: float = 0.75
    norm_pix_loss: bool = True
    decoder_dim: int = 512
    decoder_depth: int = 8
    decoder_heads: int = 16
    decoder_mlp_ratio: float = 4.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fraction("mask_ratio", self.mask_ratio)
        if not isinstance(self.norm_pix_loss, bool):
            raise ValueError(f"norm_pix_loss must be a bool, got {self.norm_pix_loss!r}")
        for name in ("decoder_dim", "decoder_depth", "decoder_heads"):
            check_positive_int(name, getattr(self, name))
        check_positive_float("decoder_mlp_ratio", self.decoder_mlp_ratio)
        if self.decoder_dim % self.decoder_heads or self.decoder_dim % 4:
            raise ValueError(f"decoder_dim {self.decoder_dim} must be a multiple of decoder_heads "
                             f"({self.decoder_heads}) and of 4 (2-D sine-cosine positions)")  # fmt: skip


class MAE(JointEmbeddingMethod):
    """Reconstruct the hidden patches' pixels from the visible ones (He et al., CVPR 2022).

    Logs nothing beyond the loss. The collapse monitors see the class token the encoder computes from
    the visible patches.

    Shapes:
        batch: a modality's batch of B items -> loss []; embeddings: [B, D]
    """

    name = "mae"
    config_class = MAEConfig
    #: ``molssl.vision.vit.ViTConfig``'s defaults (6 blocks of 192, 4x4 patches of 28x28 images)
    default_encoder: ClassVar = {"kind": "vit"}
    #: images: MAE's augmentation, random resized crops (scale 0.2-1) and flips only (``molssl.vision.views``)
    default_views: ClassVar = {"image": "mae", "audio": "byola"}
    #: audio: BYOL-A's random resized crop of the spectrogram without its mixup (Audio-MAE pretrains without mixup)
    default_view_options: ClassVar = {"audio": {"mixup": 0.0}}
    num_views = 1
    exact_views = False  # the first view is reconstructed
    collapse_advice = "lower the learning rate (lr) or mask_ratio"

    def __init__(self, encoder_config: Any, config: MAEConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        missing = [name for name in TOKEN_API if not hasattr(self.encoder, name)]
        if missing:
            raise ValueError(f"mae needs an encoder with the masked-token API ({', '.join(TOKEN_API)}), e.g. kind 'vit'; "
                             f"{type(self.encoder).__name__} lacks {', '.join(missing)}")  # fmt: skip
        c, encoder = self.config, self.encoder
        patch_dim = _patch_dim(encoder)
        self.decoder = MAEDecoder(encoder.out_dim, encoder.num_patches, patch_dim, c.decoder_dim, c.decoder_depth,
                                  c.decoder_heads, c.decoder_mlp_ratio)  # fmt: skip
        length = encoder.num_patches
        self.num_hidden = int(segment_mask_counts(torch.tensor([length]), c.mask_ratio)[0])
        if self.num_hidden >= length:
            raise ValueError(f"mask_ratio {c.mask_ratio} hides all {length} patches; lower it")

    def mask(self, batch_size: int, generator: torch.Generator, device: torch.device) -> tuple[Tensor, Tensor]:
        """A random mask hiding exactly ``num_hidden`` patches per image, and the visible patches' indices.

        Shapes:
            -> mask [B, L] bool (True = hidden), keep [B, L - num_hidden] int64 (increasing)
        """
        length = self.encoder.num_patches
        mask = span_mask(batch_size, length, self.config.mask_ratio, 1, generator=generator, device=device)
        order = torch.argsort(mask.to(torch.int8), dim=1, stable=True)  # visible patches first, in order
        return mask, order[:, : length - self.num_hidden]

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        images = self.make_views(batch, generator)[0]
        mask, keep = self.mask(images.size(0), generator, images.device)
        tokens = self.encoder.forward_tokens(images, keep)  # [B, 1 + L_keep, D]
        prediction = self.decoder(tokens, keep, mask).float()  # [B, L, P]
        loss = masked_patch_loss(prediction, self.encoder.patchify(images).float(), mask, self.config.norm_pix_loss)
        return MethodOutput(loss, {}, embeddings=tokens[:, 0].detach().float())


__all__ = ["MAE", "MAEConfig", "MAEDecoder", "masked_patch_loss"]
