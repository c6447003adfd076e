"""MemoryQueue: FIFO order, wraparound, oversized batches, detached normalized storage, checkpointing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from molssl.ssl.losses import info_nce, nt_xent
from molssl.ssl.queue import MemoryQueue


def batches(sizes: list[int], dim: int = 3, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, dim, generator=g) for n in sizes]


def test_fifo_order_and_wraparound():
    queue = MemoryQueue(5, 3)
    assert len(queue) == 0 and queue.negatives().shape == (0, 3)
    data = batches([2, 2, 2, 3])
    history: list[torch.Tensor] = []
    for i, batch in enumerate(data):
        queue.enqueue(batch)
        history.extend(F.normalize(batch, dim=1))
        newest = torch.stack(history[-5:])
        assert len(queue) == min(2 * (i + 1) if i < 3 else 5, 5)
        assert torch.allclose(queue.ordered(), newest, atol=1e-6), i
        assert queue.negatives().shape == newest.shape
    assert queue.is_full
    # storage order after wrapping: rows 0..3 were overwritten in turn
    assert int(queue.pointer) == 9 % 5
    stored = sorted(map(tuple, queue.negatives().tolist()))
    assert stored == sorted(map(tuple, queue.ordered().tolist()))


def test_batch_larger_than_queue_keeps_its_last_rows():
    queue = MemoryQueue(4, 3)
    queue.enqueue(batches([2])[0])
    big = batches([7], seed=1)[0]
    queue.enqueue(big)
    assert torch.allclose(queue.ordered(), F.normalize(big[-4:], dim=1))
    queue.enqueue(big[:1])
    assert torch.allclose(queue.ordered()[-1], F.normalize(big[0], dim=0))


def test_stores_detached_normalized_rows():
    queue = MemoryQueue(8, 4)
    z = torch.randn(3, 4, requires_grad=True)
    queue.enqueue(10 * z)
    stored = queue.negatives()
    assert not stored.requires_grad
    assert torch.allclose(stored.norm(dim=1), torch.ones(3))
    raw = MemoryQueue(8, 4, normalize=False)
    raw.enqueue(10 * z)
    assert torch.allclose(raw.negatives(), 10 * z.detach())


def test_feeds_a_loss_as_extra_negatives():
    queue = MemoryQueue(16, 4)
    z1, z2 = torch.randn(6, 4), torch.randn(6, 4)
    queue.enqueue(torch.randn(10, 4))
    assert nt_xent(z1, z2, 0.5, queue.negatives()) > nt_xent(z1, z2, 0.5)
    # MoCo's order: loss on the current queue, enqueue the new keys, then backward
    q = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    loss = info_nce(q, z2.double(), 0.2, queue.negatives())  # a float32 queue with float64 embeddings
    queue.enqueue(z2)
    loss.backward()
    assert torch.isfinite(q.grad).all()


def test_state_dict_round_trip_restores_position():
    class Holder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.queue = MemoryQueue(5, 3)

    original = Holder()
    for batch in batches([3, 4]):
        original.queue.enqueue(batch)
    state = original.state_dict()
    assert set(state) == {"queue.embeddings", "queue.pointer", "queue.filled"}
    restored = Holder()
    restored.load_state_dict(state)
    assert len(restored.queue) == 5 and torch.equal(restored.queue.ordered(), original.queue.ordered())
    extra = batches([2], seed=3)[0]
    original.queue.enqueue(extra)
    restored.queue.enqueue(extra)
    assert torch.equal(restored.queue.ordered(), original.queue.ordered())


def test_partial_state_and_reset():
    queue = MemoryQueue(6, 2)
    queue.enqueue(torch.randn(2, 2))
    fresh = MemoryQueue(6, 2)
    fresh.load_state_dict(queue.state_dict())
    assert len(fresh) == 2 and not fresh.is_full
    fresh.reset()
    assert len(fresh) == 0 and int(fresh.filled) == 0 and not fresh.embeddings.any()


def test_validation():
    with pytest.raises(ValueError, match="size"):
        MemoryQueue(0, 3)
    with pytest.raises(ValueError, match=r"\[N, 3\]"):
        MemoryQueue(4, 3).enqueue(torch.randn(2, 4))
    bad = MemoryQueue(4, 3).state_dict()
    bad["pointer"] = torch.tensor(9)
    with pytest.raises(ValueError, match="outside a queue of size 4"):
        MemoryQueue(4, 3).load_state_dict(bad)
