"""Low-rank adaptation of linear layers (Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR 2022)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class LoRAUpdate(nn.Module):
    """The trainable low-rank update ``(alpha / r) B A x`` added to a frozen ``nn.Linear``'s output.

    With the frozen weight W0 [out, in], the adapted layer computes ``W0 x + b + s B A x`` where
    ``A`` [r, in] starts as ``nn.Linear``'s Kaiming-uniform init, ``B`` [out, r] starts at zero (so the
    adapted layer starts exactly at the pretrained one) and ``s = alpha / r``. ``adapt`` turns the
    base layer into a ``LoRALinear`` in place (its parameters and state-dict keys stay as they are);
    ``merge_into`` folds the update into W0 for inference.

    Args:
        in_features, out_features: the base layer's sizes.
        rank: r.
        scale: s = alpha / r.

    Shapes:
        x: [*, in_features] -> [*, out_features]
    """

    def __init__(self, in_features: int, out_features: int, rank: int, scale: float) -> None:
        super().__init__()
        self.lora_a = nn.Parameter(torch.empty(rank, in_features))
        self.lora_b = nn.Parameter(torch.zeros(out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        return self.scale * F.linear(F.linear(x, self.lora_a), self.lora_b)

    def adapt(self, linear: nn.Linear) -> None:
        """Make ``linear`` a ``LoRALinear`` computing ``linear(x) + self(x)`` (same parameters and keys)."""
        if type(linear) is not nn.Linear:
            raise ValueError(f"LoRA adapts plain nn.Linear layers, got {type(linear).__name__}")
        linear.__class__ = LoRALinear
        linear.__dict__["lora_update"] = self  # not a registered sub-module: the update is saved with its container

    @torch.no_grad()
    def merge_into(self, linear: nn.Linear) -> None:
        """Fold the update into ``linear.weight`` (``W0 + s B A``) and make it a plain ``nn.Linear`` again."""
        if getattr(linear, "lora_update", None) is not self:
            raise ValueError("this LoRA update does not adapt that layer")
        linear.weight.add_((self.scale * self.lora_b @ self.lora_a).to(linear.weight.dtype))
        linear.__class__ = nn.Linear
        del linear.__dict__["lora_update"]


class LoRALinear(nn.Linear):
    """An ``nn.Linear`` whose output adds its ``LoRAUpdate`` (``LoRAUpdate.adapt`` makes one in place).

    A subclass rather than a forward hook: code that runs plain ``nn.Linear`` layers through a fused
    fast path (``type(m) is nn.Linear``) calls this one as a module, so the update is never skipped.

    Shapes:
        x: [*, in_features] -> [*, out_features]
    """

    lora_update: LoRAUpdate

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias) + self.lora_update(x)


__all__ = ["LoRALinear", "LoRAUpdate"]
