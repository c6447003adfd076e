"""Distributed data-parallel training with PyTorch's own machinery (DDP, launched by ``torchrun``).

``torchrun --nproc-per-node=W -m molssl pretrain ...`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; the loop then joins the process group (NCCL on GPUs, gloo on CPUs), each rank reads its
shard of every epoch, gradients are averaged by DDP, and only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """This process's place in a run: ``rank`` of ``world_size``, on ``device``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    initialized_here: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def choose_device(requested: str, local_rank: int) -> torch.device:
    """``auto``: this rank's GPU when CUDA is available, else the CPU; otherwise the requested device."""
    if requested == "auto":
        return torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


def setup_distributed(requested_device: str = "auto") -> DistContext:
    """Join the process group that ``torchrun`` describes in the environment (or run alone)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = choose_device(requested_device, local_rank)
    if world_size <= 1:
        return DistContext(device=device)
    initialized_here = False
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        initialized_here = True
    return DistContext(rank, world_size, local_rank, device, initialized_here)


def all_reduce_mean(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """The mean of ``values`` over ranks (``values`` itself when running alone)."""
    if not ctx.distributed:
        return values
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values / ctx.world_size


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def teardown(ctx: DistContext) -> None:
    """Leave the process group if this module joined it."""
    if ctx.initialized_here and dist.is_initialized():
        dist.destroy_process_group()
