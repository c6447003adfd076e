"""Attribute masking: which atoms are masked, what they become, and that the loss scores exactly them."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from molssl.augment.masked_atoms import mask_attributes
from molssl.chem.featurize import featurize, featurize_many
from molssl.chem.schemes import get_scheme
from molssl.graph.batch import to_batch
from molssl.methods.attribute_masking import AttributeMasking, AttributeMaskingConfig
from tests.methods.conftest import generator

HU = get_scheme("hu").describe()


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


def test_same_generator_same_mask_other_seed_other_mask(real_batch):
    a = mask_attributes(real_batch, HU, 0.15, generator(0)).atom_index
    b = mask_attributes(real_batch, HU, 0.15, generator(0)).atom_index
    c = mask_attributes(real_batch, HU, 0.15, generator(1)).atom_index
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_loss_scores_the_masked_atoms(real_batch, small_encoder):
    torch.manual_seed(0)
    method = AttributeMasking(small_encoder, AttributeMaskingConfig(mask_rate=0.15, mask_edge=True)).eval()
    out = method(real_batch, generator(5))
    m = mask_attributes(real_batch, HU, 0.15, generator(5), mask_edge=True)
    h = method.encoder(m.batch)
    expected = F.cross_entropy(method.atom_head(h[m.atom_index]), m.atom_target)
    expected = expected + F.cross_entropy(method.bond_head(h[m.bond_index[0]] + h[m.bond_index[1]]), m.bond_target)
    assert torch.allclose(out.loss, expected, atol=1e-6)
    assert method.atom_head.out_features == 119 and method.bond_head.out_features == 4


def test_config_is_validated():
    with pytest.raises(ValueError, match="mask_rate"):
        AttributeMaskingConfig(mask_rate=0.0)
    with pytest.raises(ValueError, match="unknown AttributeMaskingConfig options"):
        AttributeMaskingConfig.from_dict({"mask_ratio": 0.2})


def test_single_atom_molecule_is_masked():
    batch = to_batch(featurize_many(["[He]"], scheme="hu").graphs)
    assert mask_attributes(batch, HU, 0.15, generator()).atom_index.tolist() == [0]
    assert featurize("[He]", scheme="hu").x.shape == (1, 2)
