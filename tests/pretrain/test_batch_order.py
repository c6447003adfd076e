"""The loop's data order: every rank's batches, epochs and curriculum draws, checked against the graph loaders
(``StoreLoader``, ``SizeCurriculumLoader``) the loop used before it became modality-agnostic."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molssl.data.loader import StoreLoader
from molssl.data.size_curriculum import SizeCurriculumLoader
from molssl.pretrain.batch_order import BatchOrder
from molssl.pretrain.data import unlabeled_data


@pytest.fixture(scope="module")
def source(store):
    return unlabeled_data(store)


def _loader_batches(loader, epoch):
    loader.set_epoch(epoch)
    order = loader.order()
    return [order[b * loader.batch_size : (b + 1) * loader.batch_size] for b in range(len(loader))]


@pytest.mark.parametrize("world_size", [1, 2])
@pytest.mark.parametrize("curriculum", [0, 18])
def test_batches_are_the_graph_loaders_batches(source, world_size, curriculum):
    per_rank = 32 // world_size
    for rank in range(world_size):
        options = dict(batch_size=per_rank, shuffle=True, seed=3, drop_last=True, rank=rank, world_size=world_size)
        loader = SizeCurriculumLoader(source.graphs, steps=curriculum, start=0.3, **options) if curriculum else StoreLoader(source.graphs, **options)
        order = BatchOrder(source, 32, seed=3, rank=rank, world_size=world_size, curriculum_steps=curriculum, curriculum_start=0.3)
        assert order.batches_per_epoch == len(loader) == 400 // 32
        for epoch in range(3):  # the curriculum spans epoch 0 and half of epoch 1
            ours = [order.rank_batch(b).numpy() for b in order.epoch(epoch)]
            assert all(np.array_equal(a, b) for a, b in zip(ours, _loader_batches(loader, epoch), strict=True))


def test_ranks_share_each_global_batch_and_epochs_cover_every_item_once(source):
    orders = [BatchOrder(source, 32, seed=0, rank=r, world_size=4) for r in range(4)]
    for epoch in range(2):
        batches = [o.epoch(epoch) for o in orders]
        assert all(torch.equal(batches[0], b) for b in batches)  # the same global batches on every rank
        union = torch.cat([torch.cat([o.rank_batch(g) for o in orders]) for g in batches[0]])
        assert len(union) == 12 * 32 == len(set(union.tolist()))  # 400 // 32 full batches, no item twice
    assert not torch.equal(orders[0].epoch(0), orders[0].epoch(1))


def test_curriculum_draws_the_smallest_items_first(source):
    order = BatchOrder(source, 32, seed=0, curriculum_steps=24, curriculum_start=0.2)
    sizes = source.sizes()
    first = order.epoch(0)[0]
    assert order.pool_size(0) == 80 and sizes[first].max() <= torch.sort(sizes).values[79]
    assert order.pool_size(24) == 400


def test_a_curriculum_needs_item_sizes(source):
    class Unsized(type(source)):
        def sizes(self):
            return None

    unsized = Unsized(source.graphs, source.scheme, source.description)
    with pytest.raises(ValueError, match="have no size, so they cannot be drawn by a size curriculum"):
        BatchOrder(unsized, 32, seed=0, curriculum_steps=5)
    with pytest.raises(ValueError, match="batch_size 32 must be divisible by the number of processes \\(3\\)"):
        BatchOrder(source, 32, seed=0, world_size=3)
