"""Dropout whose CPU mask comes from one uniform draw per unit (Srivastava et al., JMLR 2014).

PyTorch's CPU dropout draws its mask with ``bernoulli_``, which samples element by element: on a
[700, 300] float32 layer output (a batch of 32 molecules) it takes about 3.1 ms forward and backward on
one thread, twice a 300 x 300 ``Linear`` on the same rows, and was 18% of a fine-tuning step of the
README's GCN. ``torch.rand_like`` fills the same shape with vectorized uniforms; keeping the units whose
uniform is ``>= p`` is the same Bernoulli(1 - p) mask (up to float32's 2^-24 grid), about 1.1 ms
forward and backward. The draws come from torch's default generator, so ``torch.manual_seed`` and
activation checkpointing's RNG replay reproduce them, but they are other draws than ``F.dropout``'s:
a seed drops other units than it did with ``nn.Dropout``.

Elsewhere (GPUs, where the fused kernel is fast; bf16/fp16, whose uniforms are coarse) ``Dropout``
is ``F.dropout``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: dtypes whose CPU mask is drawn with ``rand_like`` (others use ``F.dropout``)
UNIFORM_MASK_DTYPES = (torch.float32, torch.float64)


class _UniformMaskDropout(torch.autograd.Function):
    """``x * keep / (1 - p)`` with ``keep = (U >= p)``, ``U ~ Uniform[0, 1)`` per unit; the backward
    multiplies the gradient by the same scaled mask."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, p: float) -> Tensor:
        scaled_keep = torch.rand_like(x).ge_(p).mul_(1.0 / (1.0 - p))  # [*]: 0 or 1 / (1 - p)
        ctx.save_for_backward(scaled_keep)
        return x * scaled_keep

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (scaled_keep,) = ctx.saved_tensors
        return grad * scaled_keep, None


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Zero each unit of ``x`` with probability ``p`` and scale the rest by ``1 / (1 - p)`` when ``training``.

    Shapes:
        x: [*] -> [*]
    """
    if not training or p == 0.0:
        return x
    if p == 1.0 or x.device.type != "cpu" or x.dtype not in UNIFORM_MASK_DTYPES:
        return F.dropout(x, p, training=True)
    return _UniformMaskDropout.apply(x, p)


class Dropout(nn.Dropout):
    """``nn.Dropout`` (same argument, ``p``, and state) drawing its CPU mask with ``dropout`` above."""

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return super().forward(x)
        return dropout(x, self.p, self.training)


__all__ = ["Dropout", "UNIFORM_MASK_DTYPES", "dropout"]
