"""What every augmentation promises: the same seed gives the same view, and ratio 0 changes nothing."""

from __future__ import annotations

import pytest
import torch

from molssl.augment import AttrMask, EdgePerturb, NodeDrop, Subgraph
from tests.augment.conftest import assert_same_batch, generator

HU_MASK_TOKEN = AttrMask.from_scheme("hu").mask_token


@pytest.mark.parametrize(
    ("augmentation", "key"),
    [
        (NodeDrop(), "edge_index"),
        (Subgraph(), "edge_index"),
        (AttrMask(mask_token=HU_MASK_TOKEN), "x"),
        (EdgePerturb(ratio=0.2, add_ratio=0.1, add_bond_attr=(0, 0)), "edge_index"),
    ],
    ids=["node_drop", "subgraph", "attr_mask", "edge_perturb"],
)
def test_seeded_and_different_seeds_differ(real, augmentation, key):
    batch = real.batch()
    first, again, other = (augmentation(batch, generator(seed)) for seed in (3, 3, 4))
    assert_same_batch(first, again)
    assert not torch.equal(first[key], other[key])


@pytest.mark.parametrize(
    "augmentation",
    [NodeDrop(ratio=0.0), Subgraph(ratio=0.0), AttrMask(mask_token=HU_MASK_TOKEN, ratio=0.0), EdgePerturb(ratio=0.0)],
    ids=["node_drop", "subgraph", "attr_mask", "edge_perturb"],
)
def test_ratio_zero_keeps_everything(hand_built, augmentation):
    batch = hand_built.batch()
    assert_same_batch(augmentation(batch, generator(0)), batch)
