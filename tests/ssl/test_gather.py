"""Gathering across ranks (gloo, 2 processes): each rank's loss over the gathered keys, with DDP's gradient
average, gives the single-process loss and gradient of the whole batch."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from molssl.ssl.gather import gather_rows, world
from molssl.ssl.losses import cross_modal_info_nce


def _rank(rank: int, world_size: int, init: str, a: torch.Tensor, b: torch.Tensor, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world_size)
    try:
        rows = slice(rank * 4, rank * 4 + 4)
        za, zb = a[rows].clone().requires_grad_(), b[rows].clone().requires_grad_()
        (a_keys, offset), (b_keys, _) = gather_rows(za), gather_rows(zb)
        loss = cross_modal_info_nce(za, zb, 5.0, a_keys=a_keys, b_keys=b_keys, offset=offset)
        loss.backward()
        torch.save({"loss": loss.detach(), "ga": za.grad / world_size, "gb": zb.grad / world_size, "offset": offset},
                   f"{out}.{rank}")  # fmt: skip
    finally:
        dist.destroy_process_group()


def test_alone_nothing_is_gathered():
    x = torch.randn(3, 2)
    assert world() == (0, 1) and gather_rows(x) == (x, 0)


def test_two_ranks_give_the_whole_batchs_loss_and_gradient(tmp_path):
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g)
    # forked: the ranks inherit this process's imports (spawned, each re-imports torch: most of the test's time)
    mp.start_processes(_rank, args=(2, f"file://{tmp_path / 'rendezvous'}", a, b, str(tmp_path / "out")), nprocs=2,
                       join=True, start_method="fork")  # fmt: skip
    results = [torch.load(tmp_path / f"out.{r}") for r in range(2)]
    za, zb = a.clone().requires_grad_(), b.clone().requires_grad_()
    whole = cross_modal_info_nce(za, zb, 5.0)
    whole.backward()
    assert [r["offset"] for r in results] == [0, 4]
    assert torch.allclose(torch.stack([r["loss"] for r in results]).mean(), whole.detach(), atol=1e-6)
    assert torch.allclose(torch.cat([r["ga"] for r in results]), za.grad, atol=1e-6)
    assert torch.allclose(torch.cat([r["gb"] for r in results]), zb.grad, atol=1e-6)
