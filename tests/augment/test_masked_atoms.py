"""Masking atoms and their bonds with the scheme's tokens, keeping the hidden values as targets."""

from __future__ import annotations

import math

import torch

from molssl.augment.masked_atoms import mask_attributes
from molssl.chem.featurize import featurize, featurize_many
from molssl.chem.schemes import get_spec
from molssl.graph.batch import to_batch

HU = get_spec("hu")


def generator(seed: int = 0) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def test_masks_ceil_rate_atoms_per_molecule_with_mask_token():
    smiles = ["C", "CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "[Na+].[Cl-]"]
    batch = to_batch(featurize_many(smiles, scheme="hu").graphs)
    m = mask_attributes(batch, HU, 0.15, generator(3))
    counts = torch.bincount(batch.batch[m.atom_index], minlength=len(smiles)).tolist()
    sizes = batch.ptr.diff().tolist()
    assert counts == [max(1, math.ceil(0.15 * n - 1e-9)) for n in sizes]
    assert torch.equal(m.batch.x[m.atom_index], torch.tensor([[119, 0]]).expand(len(m.atom_index), 2))
    untouched = torch.ones(batch.num_nodes, dtype=torch.bool)
    untouched[m.atom_index] = False
    assert torch.equal(m.batch.x[untouched], batch.x[untouched])
    assert torch.equal(m.atom_target, batch.x[m.atom_index, 0])
    assert torch.equal(m.batch.edge_attr, batch.edge_attr)  # no bond masking by default
    assert batch.x.max() < 119  # the input batch was not modified


def test_mask_edge_masks_exactly_the_bonds_of_masked_atoms():
    batch = to_batch(featurize_many(["CC(=O)Oc1ccccc1C(=O)O", "C1CC1N"], scheme="hu").graphs)
    m = mask_attributes(batch, HU, 0.3, generator(1), mask_edge=True)
    masked_atoms = set(m.atom_index.tolist())
    for k in range(batch.edge_index.size(1) // 2):
        u, v = batch.edge_index[:, 2 * k].tolist()
        expect = u in masked_atoms or v in masked_atoms
        for e in (2 * k, 2 * k + 1):
            assert (m.batch.edge_attr[e].tolist() == [5, 0]) == expect
    pairs = {tuple(p) for p in m.bond_index.t().tolist()}
    assert pairs == {tuple(batch.edge_index[:, 2 * k].tolist()) for k in range(batch.edge_index.size(1) // 2)
                     if set(batch.edge_index[:, 2 * k].tolist()) & masked_atoms}  # fmt: skip
    assert m.bond_target.max() < 4


def test_same_generator_same_mask_other_seed_other_mask():
    real_batch = to_batch(featurize_many(["CC(=O)Oc1ccccc1C(=O)O", "c1ccc2ccccc2c1", "CCN(CC)CCOC(=O)c1ccc(N)cc1"] * 4, scheme="hu").graphs)
    a = mask_attributes(real_batch, HU, 0.15, generator(0)).atom_index
    b = mask_attributes(real_batch, HU, 0.15, generator(0)).atom_index
    c = mask_attributes(real_batch, HU, 0.15, generator(1)).atom_index
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_single_atom_molecule_is_masked():
    batch = to_batch(featurize_many(["[He]"], scheme="hu").graphs)
    assert mask_attributes(batch, HU, 0.15, generator()).atom_index.tolist() == [0]
    assert featurize("[He]", scheme="hu").x.shape == (1, 2)
