"""Attribute masking: which atoms are masked, what they become, and that the loss scores exactly them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from molssl.augment.masked_atoms import mask_attributes
from molssl.chem.schemes import get_spec
from molssl.methods.attribute_masking import AttributeMasking, AttributeMaskingConfig
from tests.methods.conftest import generator

HU = get_spec("hu")


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
    with pytest.raises(ValueError, match="unknown AttributeMaskingConfig keys"):
        AttributeMaskingConfig.from_dict({"mask_ratio": 0.2})


