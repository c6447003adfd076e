"""Gather embeddings from every data-parallel rank, keeping the gradient of this rank's rows.

Contrastive losses want as many negatives as the whole global batch holds, not only this rank's share
(CLIP, Radford et al. 2021, gathers features from all workers; SimCLR's TPU code too). Under DDP each
rank computes its loss with its own rows as queries against the keys of all ranks; the backward pass
sums, over the ranks' losses, the gradient each sends to a rank's rows and hands that rank its share
(the "GatherLayer" of SimCLR reimplementations), so with DDP's averaging the gradient is that of the
loss over the whole global batch. Alone (no process group, or one rank) nothing is gathered.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` outside one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _GatherRows(torch.autograd.Function):
    """All-gather whose backward sums every rank's gradient of each copy and returns this rank's share."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> tuple[Tensor, ...]:
        ctx.rank = dist.get_rank()
        copies = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(copies, x.contiguous())
        return tuple(copies)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Tensor:
        stacked = torch.stack(grads)  # [W, B, D]: this rank's loss's gradient of every rank's rows
        dist.all_reduce(stacked)  # summed over the ranks' losses
        return stacked[ctx.rank]


def gather_rows(x: Tensor) -> tuple[Tensor, int]:
    """Every rank's ``x`` stacked in rank order, and where this rank's rows start in it.

    Every rank must pass the same number of rows (the loop's shards are equal). The gradient of this
    rank's rows sums what every rank's loss sends back to them; DDP then averages over ranks as usual.

    Shapes:
        x: [B, D] -> ([W * B, D], offset = rank * B)
    """
    rank, size = world()
    if size == 1:
        return x, 0
    return torch.cat(_GatherRows.apply(x), dim=0), rank * x.size(0)


__all__ = ["gather_rows", "world"]
