"""Attribute masking: exactly int(n * ratio) atoms per graph carry exactly the scheme's mask token."""

from __future__ import annotations

import pytest
import torch

import molssl
from molssl.augment import AttrMask
from tests.augment.conftest import (
    Molecules,
    checked_view,
    expected_count,
    generator,
)

HU_TOKEN = tuple(molssl.get_spec("hu").atom_mask_token)


def masked_rows(out, batch, token):
    """Atoms whose row changed, and a check that every changed row is exactly the token."""
    changed = (out.x != batch.x).any(dim=1)
    is_token = (out.x == torch.tensor(token)).all(dim=1)
    assert torch.equal(changed, is_token), "a changed atom does not carry exactly the mask token"
    return changed


@pytest.mark.parametrize("molecules", ["hand_built", "awkward", "real"])
@pytest.mark.parametrize("ratio", [0.2, 0.5])
def test_exact_count_per_graph_and_only_the_token(molecules, ratio, request):
    mols: Molecules = request.getfixturevalue(molecules)
    batch = mols.batch()
    out = checked_view(AttrMask.from_scheme("hu", ratio), batch)
    changed = masked_rows(out, batch, HU_TOKEN)
    per_graph = torch.bincount(batch.batch[changed], minlength=batch.num_graphs)
    assert per_graph.tolist() == expected_count(mols.atoms, ratio).tolist()
    # structure and bond features untouched
    assert torch.equal(out.edge_index, batch.edge_index) and torch.equal(out.edge_attr, batch.edge_attr)
    assert torch.equal(out.ptr, batch.ptr) and torch.equal(out.batch, batch.batch)


def test_mask_method_is_what_the_call_masks(hand_built):
    batch = hand_built.batch()
    augmentation = AttrMask(mask_token=HU_TOKEN, ratio=0.4)
    out = augmentation(batch, generator(5))
    assert torch.equal(masked_rows(out, batch, HU_TOKEN), augmentation.mask(batch, generator(5)))


def test_ogb_scheme_token(hand_built):
    mols = Molecules(hand_built.smiles, scheme="ogb")
    batch = mols.batch()
    token = tuple(molssl.get_spec("ogb").atom_mask_token)
    out = AttrMask.from_scheme(molssl.get_spec("ogb"), 0.5)(batch, generator(1))
    changed = masked_rows(out, batch, token)
    assert int(changed.sum()) == int(expected_count(mols.atoms, 0.5).sum())


def test_validation():
    with pytest.raises(ValueError, match="ratio"):
        AttrMask(mask_token=HU_TOKEN, ratio=1.0)
    with pytest.raises(ValueError, match="mask_token"):
        AttrMask(mask_token=(119, -1))
    with pytest.raises(ValueError, match="mask_token"):
        AttrMask(mask_token=119)
    with pytest.raises(ValueError, match="feature columns"):
        AttrMask(mask_token=(119,))(Molecules(["CCO"]).batch(), generator(0))
    assert AttrMask(mask_token=[119, 0]).mask_token == (119, 0)
    assert AttrMask.from_scheme("hu").to_dict() == {"name": "attr_mask", "mask_token": (119, 0), "ratio": 0.2}
