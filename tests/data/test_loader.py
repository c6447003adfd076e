"""StoreLoader: batches, shuffling, sharding across ranks, labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import molssl
from molssl.data.loader import StoreLoader


@pytest.fixture(scope="module")
def graphs():
    smiles = ["C" * (i % 7 + 1) for i in range(103)]
    return molssl.featurize_many(smiles, scheme="hu").graphs


def test_batches_cover_everything_in_order(graphs):
    loader = StoreLoader(graphs, batch_size=10)
    batches = list(loader)
    assert len(batches) == len(loader) == 11
    assert sum(b.num_graphs for b in batches) == 103
    sizes = torch.cat([torch.bincount(b.batch, minlength=b.num_graphs) for b in batches])
    assert sizes.tolist() == graphs.num_atoms.tolist()


def test_shuffle_is_seeded_per_epoch(graphs):
    loader = StoreLoader(graphs, batch_size=10, shuffle=True, seed=3)
    first = loader.order().copy()
    assert sorted(first.tolist()) == list(range(103)) and first.tolist() != list(range(103))
    assert np.array_equal(StoreLoader(graphs, batch_size=10, shuffle=True, seed=3).order(), first)
    loader.set_epoch(1)
    assert not np.array_equal(loader.order(), first)


def test_targets_and_resume(graphs):
    y = np.arange(103, dtype=np.float32)[:, None]
    loader = StoreLoader(graphs, batch_size=16, shuffle=True, targets=y, indices=np.arange(50))
    batches = list(loader)
    assert sorted(torch.cat([b.y for b in batches]).view(-1).tolist()) == list(range(50))
    resumed = list(loader.batches(start=2))
    assert len(resumed) == len(batches) - 2 and torch.equal(resumed[0].y, batches[2].y)


def test_index_batches_are_what_batches_collate(graphs):
    loader = StoreLoader(graphs, batch_size=16, shuffle=True, seed=5, targets=np.arange(103, dtype=np.float32))
    loader.set_epoch(2)
    indices = list(loader.index_batches(1))
    assert np.array_equal(np.concatenate(indices), loader.order()[16:])
    for idx, batch in zip(indices, loader.batches(1), strict=True):
        assert torch.equal(batch.y, loader.targets_of(idx)) and torch.equal(batch.y, torch.from_numpy(idx.astype(np.float32)))
        assert torch.equal(loader.collate(idx).x, batch.x)
