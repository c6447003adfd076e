"""The augmentation registry and GraphCL's two views."""

from __future__ import annotations

import pytest
import torch

import molssl
from molssl.augment import (
    AUGMENTATIONS,
    AttrMask,
    EdgePerturb,
    Identity,
    NodeDrop,
    Subgraph,
    augment_pair,
    get_augmentation,
)
from tests.augment.conftest import (
    assert_unchanged,
    assert_well_formed,
    generator,
    snapshot,
)

HU = molssl.get_spec("hu")


def test_registry_names_and_classes():
    assert AUGMENTATIONS == {
        "node_drop": NodeDrop, "edge_perturb": EdgePerturb, "attr_mask": AttrMask, "subgraph": Subgraph,
        "identity": Identity,
    }  # fmt: skip


def test_get_augmentation_builds_and_round_trips_through_to_dict():
    augmentation = get_augmentation("edge_perturb", ratio=0.1, add_ratio=0.1, add_bond_attr=(0, 0))
    assert augmentation == EdgePerturb(ratio=0.1, add_ratio=0.1, add_bond_attr=(0, 0))
    data = augmentation.to_dict()
    assert get_augmentation(data.pop("name"), **data) == augmentation
    assert get_augmentation("identity") == Identity()


def test_unknown_names_and_options_list_the_valid_ones():
    with pytest.raises(ValueError, match="valid augmentations: attr_mask, edge_perturb, identity, node_drop, subgraph"):
        get_augmentation("dropN")
    with pytest.raises(ValueError, match=r"unknown options \['aug_ratio'\].*valid options: ratio"):
        get_augmentation("node_drop", aug_ratio=0.2)
    with pytest.raises(ValueError, match="valid options: mask_token, ratio"):
        get_augmentation("attr_mask")
    with pytest.raises(ValueError, match=r"valid options: \(none\)"):
        get_augmentation("identity", ratio=0.2)
    with pytest.raises(ValueError, match="ratio must be"):
        get_augmentation("subgraph", ratio=1.0)


@pytest.mark.parametrize("first", sorted(AUGMENTATIONS))
@pytest.mark.parametrize("second", sorted(AUGMENTATIONS))
def test_every_pair_gives_two_well_formed_views(hand_built, first, second):
    batch = hand_built.batch()
    before = snapshot(batch)
    view1, view2 = augment_pair(batch, (first, second), generator(0), scheme=HU)
    assert_unchanged(batch, before)
    for view in (view1, view2):
        assert view is not batch
        assert_well_formed(view, batch)


def test_views_are_made_from_the_batch_with_consecutive_draws(real):
    batch = real.batch()
    view1, view2 = augment_pair(batch, ("node_drop", "node_drop"), generator(1))
    assert not torch.equal(view1.x, view2.x) or not torch.equal(view1.edge_index, view2.edge_index)
    # same as applying each augmentation to the original batch, one after the other, on one generator
    g = generator(1)
    expected1, expected2 = NodeDrop()(batch, g), NodeDrop()(batch, g)
    assert torch.equal(view1.edge_index, expected1.edge_index) and torch.equal(view2.edge_index, expected2.edge_index)
    again = augment_pair(batch, ("node_drop", "node_drop"), generator(1))
    assert torch.equal(again[1].x, view2.x) and torch.equal(again[1].edge_index, view2.edge_index)
    other = augment_pair(batch, ("node_drop", "node_drop"), generator(2))
    assert not torch.equal(other[0].edge_index, view1.edge_index)


def test_ratio_applies_to_named_augmentations_and_instances_pass_through(hand_built):
    batch = hand_built.batch()
    view1, view2 = augment_pair(batch, ("subgraph", NodeDrop(ratio=0.0)), generator(0), ratio=0.5)
    assert view1.num_nodes == sum(n - int(n * 0.5) for n in hand_built.atoms)
    assert view2.num_nodes == batch.num_nodes
    masked, _ = augment_pair(batch, ("attr_mask", "identity"), generator(0), ratio=0.5, scheme="hu")
    assert int((masked.x[:, 0] == HU.atom_mask_token[0]).sum()) == sum(int(n * 0.5) for n in hand_built.atoms)


def test_identity_copies_without_drawing(hand_built):
    batch = hand_built.batch()
    g = generator(0)
    state = g.get_state()
    out = Identity()(batch, g)
    assert out is not batch and torch.equal(out.x, batch.x) and torch.equal(out.edge_index, batch.edge_index)
    assert torch.equal(g.get_state(), state)


def test_pair_errors(hand_built):
    batch = hand_built.batch()
    with pytest.raises(ValueError, match="scheme="):
        augment_pair(batch, ("attr_mask", "identity"), generator(0))
    with pytest.raises(ValueError, match="pair"):
        augment_pair(batch, ("node_drop",), generator(0))
    with pytest.raises(ValueError, match="pair"):
        augment_pair(batch, "node_drop", generator(0))
    with pytest.raises(ValueError, match="valid augmentations"):
        augment_pair(batch, ("node_drop", "mask"), generator(0))
