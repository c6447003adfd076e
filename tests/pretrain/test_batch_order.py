"""The loop's data order (``BatchOrder``): every rank's batches, epochs and size-curriculum draws, checked against
a reference written here from the documented definition (seeded numpy draws, plain loops), and for the
properties a run relies on: shards disjoint and covering, resuming exact, smallest items first."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from molssl.pretrain.batch_order import BatchOrder
from molssl.pretrain.data import unlabeled_data

G = 32  # items per step over all ranks; the 400-molecule corpus has 12 full global batches per epoch


@pytest.fixture(scope="module")
def source(store):
    return unlabeled_data(store)


def reference_epoch(sizes: np.ndarray, epoch: int, seed: int, steps: int = 0, start: float = 0.2) -> list[np.ndarray]:
    """The global batches of ``epoch`` by the definition: a (seed, epoch) permutation cut into full batches of G;
    the batch of step t < steps instead draws G of the ceil(c(t) N) smallest items (at least G) with the
    (seed, 0x5C0E, t) generator, c(t) = min(1, sqrt(start^2 + (1 - start^2) t / steps))."""
    n = len(sizes)
    permutation = np.random.default_rng([seed, epoch]).permutation(n)
    smallest_first = sorted(range(n), key=lambda i: (sizes[i], i))
    batches = []
    for b in range(n // G):
        step = epoch * (n // G) + b
        if step < steps:
            share = min(1.0, math.sqrt(start * start + (1.0 - start * start) * step / steps))
            pool = min(n, max(math.ceil(share * n), G))
            picks = np.random.default_rng([seed, 0x5C0E, step]).choice(pool, size=G, replace=False)
            batches.append(np.array([smallest_first[p] for p in picks]))
        else:
            batches.append(permutation[b * G : (b + 1) * G])
    return batches


@pytest.mark.parametrize("curriculum", [0, 18])
def test_global_batches_follow_the_definition(source, curriculum):
    sizes = source.sizes().numpy()
    order = BatchOrder(source, G, seed=3, curriculum_steps=curriculum, curriculum_start=0.3)
    assert order.batches_per_epoch == 400 // G
    for epoch in range(3):  # the curriculum spans epoch 0 and half of epoch 1
        ours = order.epoch(epoch)
        assert ours.dtype == torch.int64 and ours.shape == (12, G)
        expected = reference_epoch(sizes, epoch, seed=3, steps=curriculum, start=0.3)
        assert all(np.array_equal(a.numpy(), b) for a, b in zip(ours, expected, strict=True)), epoch


@pytest.mark.parametrize("world_size", [2, 4])
@pytest.mark.parametrize("curriculum", [0, 18])
def test_rank_shards_are_disjoint_and_cover_each_global_batch(source, world_size, curriculum):
    orders = [BatchOrder(source, G, seed=3, rank=r, world_size=world_size, curriculum_steps=curriculum,
                         curriculum_start=0.3) for r in range(world_size)]  # fmt: skip
    single = BatchOrder(source, G, seed=3, curriculum_steps=curriculum, curriculum_start=0.3)
    for epoch in range(2):
        globals_ = [o.epoch(epoch) for o in orders]
        assert all(torch.equal(single.epoch(epoch), g) for g in globals_)  # every rank sees the one process's batches
        for batch in globals_[0]:
            shards = [o.rank_batch(batch).tolist() for o in orders]
            assert all(len(s) == G // world_size for s in shards)
            assert sorted(sum(shards, [])) == sorted(batch.tolist())  # disjoint and covering: a partition
            assert shards[0] == batch.tolist()[0::world_size]  # interleaved, as DistributedSampler does


def test_an_epoch_without_curriculum_covers_every_item_at_most_once_and_epochs_differ(source):
    order = BatchOrder(source, G, seed=0)
    for epoch in range(2):
        items = order.epoch(epoch).reshape(-1).tolist()
        assert len(items) == 12 * G == len(set(items)) and set(items) <= set(range(400))
    assert not torch.equal(order.epoch(0), order.epoch(1))
    assert not torch.equal(BatchOrder(source, G, seed=1).epoch(0), order.epoch(0))


def test_resuming_at_a_saved_position_gives_the_uninterrupted_batches(source):
    """A restarted process rebuilds the order and continues at (epoch, batch): nothing else is saved."""
    steps, start_epoch, start_batch = 30, 1, 5  # inside the curriculum and after it
    uninterrupted = BatchOrder(source, G, seed=7, curriculum_steps=steps)
    run = [batch for epoch in range(4) for batch in uninterrupted.epoch(epoch)]
    restarted = BatchOrder(source, G, seed=7, curriculum_steps=steps)  # a new process
    resumed = [batch for epoch in range(start_epoch, 4) for batch in restarted.epoch(epoch)][start_batch:]
    assert len(resumed) == len(run) - 12 * start_epoch - start_batch
    assert all(torch.equal(a, b) for a, b in zip(run[12 * start_epoch + start_batch :], resumed, strict=True))


def test_curriculum_draws_grow_from_the_smallest_items_then_follow_the_epoch_order(source):
    steps = 15  # ends inside epoch 1
    sizes = source.sizes()
    ranked = torch.sort(sizes).values
    order = BatchOrder(source, G, seed=3, curriculum_steps=steps, curriculum_start=0.2)
    plain = BatchOrder(source, G, seed=3)
    batches = [*order.epoch(0), *order.epoch(1)]
    plain_batches = [*plain.epoch(0), *plain.epoch(1)]
    pools = [order.pool_size(t) for t in range(steps + 1)]
    assert pools[0] == 80 and pools[steps] == 400 and pools == sorted(pools)
    for step, batch in enumerate(batches[:steps]):
        assert len(set(batch.tolist())) == G and sizes[batch].max() <= ranked[pools[step] - 1], step
    assert sizes[batches[0]].float().mean() < sizes.float().mean() - sizes.float().std()  # small molecules first
    assert all(torch.equal(a, b) for a, b in zip(batches[steps:], plain_batches[steps:]))
    assert not any(torch.equal(a, b) for a, b in zip(batches[:steps], plain_batches[:steps]))


def test_a_curriculum_needs_item_sizes(source):
    class Unsized(type(source)):
        def sizes(self):
            return None

    unsized = Unsized(source.graphs, source.scheme, source.description)
    with pytest.raises(ValueError, match="have no size, so they cannot be drawn by a size curriculum"):
        BatchOrder(unsized, G, seed=0, curriculum_steps=5)
    with pytest.raises(ValueError, match="batch_size 32 must be divisible by the number of processes \\(3\\)"):
        BatchOrder(source, G, seed=0, world_size=3)
