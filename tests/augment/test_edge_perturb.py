"""Edge perturbation: exactly int(m * ratio) bonds dropped per graph as pairs; optional added non-bonds."""

from __future__ import annotations

import pytest
import torch

from molssl.augment import EdgePerturb
from molssl.augment.edge_perturb import non_bonded_pairs
from tests.augment.conftest import (
    Molecules,
    assert_well_formed,
    checked_view,
    expected_count,
    generator,
    original_bonds,
)


def bonds_per_graph(batch):
    return torch.bincount(batch.batch[batch.edge_index[0, 0::2]], minlength=batch.num_graphs)


@pytest.mark.parametrize("molecules", ["hand_built", "awkward", "real"])
@pytest.mark.parametrize("ratio", [0.2, 0.5])
def test_drops_exactly_int_m_ratio_bonds_per_graph(molecules, ratio, request):
    mols: Molecules = request.getfixturevalue(molecules)
    batch = mols.batch()
    out = checked_view(EdgePerturb(ratio=ratio), batch)
    expected = mols.bonds - expected_count(mols.bonds, ratio)
    assert bonds_per_graph(out).tolist() == expected.tolist()
    # atoms untouched; every kept edge is an original one with its own features
    assert torch.equal(out.x, batch.x) and torch.equal(out.ptr, batch.ptr)
    bonds = original_bonds(batch)
    for (a, b), attr in zip(out.edge_index.t().tolist(), out.edge_attr.tolist()):
        assert bonds[(a, b)] == tuple(attr)


def test_dropped_bonds_method_is_what_the_call_drops(real):
    batch = real.batch()
    augmentation = EdgePerturb(ratio=0.3)
    out = augmentation(batch, generator(9))
    kept = batch.edge_index[:, 0::2][:, ~augmentation.dropped_bonds(batch, generator(9))]
    assert torch.equal(out.edge_index[:, 0::2], kept)


@pytest.mark.parametrize("molecules", ["hand_built", "real"])
def test_added_bonds_are_new_and_counted(molecules, request):
    mols: Molecules = request.getfixturevalue(molecules)
    batch = mols.batch()
    out = EdgePerturb(ratio=0.2, add_ratio=0.2, add_bond_attr=(0, 0))(batch, generator(1))
    assert_well_formed(out, batch)
    bonds = original_bonds(batch)
    old = [(a, b) in bonds for a, b in out.edge_index[:, 0::2].t().tolist()]
    new_graph = out.batch[out.edge_index[0, 0::2]][~torch.tensor(old)]
    added = torch.bincount(new_graph, minlength=batch.num_graphs)
    available = mols.atoms * (mols.atoms - 1) // 2 - mols.bonds
    expected_added = [min(int(m * 0.2), p) for m, p in zip(mols.bonds, available)]
    assert added.tolist() == expected_added
    kept = torch.bincount(out.batch[out.edge_index[0, 0::2]][torch.tensor(old)], minlength=batch.num_graphs)
    assert kept.tolist() == (mols.bonds - expected_count(mols.bonds, 0.2)).tolist()
    new_attr = out.edge_attr[0::2][~torch.tensor(old)]
    assert bool((new_attr == torch.tensor([0, 0])).all())


def test_non_bonded_pairs_of_a_small_batch():
    batch = Molecules(["CCO", "[Na+]", "C1CC1"]).batch()  # atoms 0-2, 3, 4-6
    assert non_bonded_pairs(batch.edge_index, batch.ptr).t().tolist() == [[0, 2]]


def test_saturated_graphs_get_no_added_bond():
    # cyclopropane: every pair bonded, so nothing can be added even with a large add_ratio
    batch = Molecules(["C1CC1", "CCCC"]).batch()
    out = EdgePerturb(ratio=0.0, add_ratio=0.9, add_bond_attr=(0, 0))(batch, generator(0))
    assert bonds_per_graph(out).tolist() == [3, 3 + 2]


def test_edge_level_attribute_follows_dropped_edges_and_blocks_adding(hand_built):
    batch = hand_built.batch()
    batch.edge_weight = torch.arange(batch.edge_index.shape[1], dtype=torch.float32)
    batch._slice_dict["edge_weight"] = batch._slice_dict["edge_index"]
    batch._inc_dict["edge_weight"] = batch._inc_dict["edge_attr"]
    out = EdgePerturb(ratio=0.5)(batch, generator(0))
    assert torch.equal(out.edge_weight, batch.edge_weight[_kept_edge_ids(batch, out)])
    with pytest.raises(ValueError, match="edge_weight"):
        EdgePerturb(ratio=0.5, add_ratio=0.5, add_bond_attr=(0, 0))(batch, generator(0))


def _kept_edge_ids(batch, out):
    position = {tuple(pair): i for i, pair in enumerate(batch.edge_index.t().tolist())}
    return torch.tensor([position[tuple(pair)] for pair in out.edge_index.t().tolist()], dtype=torch.long)


def test_rejects_a_batch_without_paired_directions(hand_built):
    batch = hand_built.batch()
    loops = torch.arange(batch.num_nodes).repeat(2, 1)
    batch.edge_index = torch.cat([batch.edge_index, loops[:, :3]], dim=1)
    with pytest.raises(ValueError, match="both directions"):
        EdgePerturb()(batch, generator(0))


def test_validation():
    with pytest.raises(ValueError, match="add_bond_attr"):
        EdgePerturb(add_ratio=0.2)
    with pytest.raises(ValueError, match="ratio"):
        EdgePerturb(ratio=-0.1)
    with pytest.raises(ValueError, match="add_ratio"):
        EdgePerturb(add_ratio=1.0, add_bond_attr=(0, 0))
    with pytest.raises(ValueError, match="add_bond_attr"):
        EdgePerturb(add_ratio=0.1, add_bond_attr=(0, "a"))
    with pytest.raises(ValueError, match="feature columns"):
        EdgePerturb(add_ratio=0.5, add_bond_attr=(0,))(Molecules(["CCCC"]).batch(), generator(0))
    assert EdgePerturb(add_ratio=0.1, add_bond_attr=[0, 0]).add_bond_attr == (0, 0)
