"""Gather embeddings from every data-parallel rank, keeping the gradient of this rank's rows.

Contrastive losses want as many negatives as the whole global batch holds, not only this rank's share
(CLIP, Radford et al. 2021, gathers features from all workers; SimCLR's TPU code too). Under DDP each
rank computes its loss with its own rows as queries against the keys of all ranks; the gradient flows
into this rank's rows only through its own copy, and DDP's averaging of gradients then sums the
contributions of every rank (``torch.distributed.nn.functional.all_gather`` backpropagates into each
rank's input). Alone (no process group, or one rank) nothing is gathered.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` outside one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_rows(x: Tensor) -> tuple[Tensor, int]:
    """Every rank's ``x`` stacked in rank order, and where this rank's rows start in it.

    Every rank must pass the same number of rows (the loop's shards are equal).

    Shapes:
        x: [B, D] -> ([W * B, D], offset = rank * B)
    """
    rank, size = world()
    if size == 1:
        return x, 0
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x), dim=0), rank * x.size(0)


__all__ = ["gather_rows", "world"]
