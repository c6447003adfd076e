"""The SMILES transformer: padding changes nothing, batched == single, both position kinds, plain-data config."""

from __future__ import annotations

import json

import pytest
import torch

from molssl.text.batch import pad_ids
from molssl.text.default_vocabulary import default_tokenizer
from molssl.text.encoder import SmilesTransformer, SmilesTransformerConfig, apply_rotary, rotary_tables

SMILES = ["CCO", "N[C@@H](C)C(=O)O", "c1ccccc1Cl", "C"]


def encode(smiles):
    tokenizer = default_tokenizer()
    return pad_ids([tokenizer.encode(s).ids for s in smiles])


@pytest.mark.parametrize("positions", ["learned", "rotary"])
@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_batched_equals_single_and_padding_is_ignored(positions, pooling):
    torch.manual_seed(0)
    model = SmilesTransformer(SmilesTransformerConfig(positions=positions, pooling=pooling)).eval()
    ids = encode(SMILES)  # [4, L]
    batched = model(ids)
    assert batched.shape == (4, 64)
    for row, smiles in enumerate(SMILES):
        single = model(encode([smiles]))
        torch.testing.assert_close(batched[row], single[0], atol=1e-5, rtol=1e-5)
        padded = torch.cat([encode([smiles]), torch.zeros(1, 7, dtype=torch.long)], dim=1)  # extra [PAD] columns
        torch.testing.assert_close(model(padded)[0], single[0], atol=1e-5, rtol=1e-5)


def test_positions_matter():
    torch.manual_seed(0)
    for positions in ("learned", "rotary"):
        model = SmilesTransformer(SmilesTransformerConfig(positions=positions, pooling="mean")).eval()
        a, b = model(encode(["CCO"])), model(encode(["OCC"]))  # the same tokens in another order
        assert not torch.allclose(a, b, atol=1e-4)


def test_rotary_matches_a_complex_rotation():
    x = torch.randn(2, 3, 5, 8)
    cos, sin = rotary_tables(5, 8, x.device, x.dtype)
    as_complex = torch.view_as_complex(x.reshape(2, 3, 5, 4, 2).contiguous())
    rotated = torch.view_as_real(as_complex * torch.polar(torch.ones_like(cos), torch.atan2(sin, cos))).flatten(-2)
    torch.testing.assert_close(apply_rotary(x, cos, sin), rotated)


def test_config_round_trips_through_json_and_refuses_bad_values():
    config = SmilesTransformerConfig.preset("tiny", positions="rotary", max_length=64)
    data = json.loads(json.dumps(config.to_dict()))
    assert data["kind"] == "smiles_transformer"
    assert SmilesTransformerConfig.from_dict(data) == config
    assert config.out_dim == 64 and config.vocab_size == len(default_tokenizer())
    with pytest.raises(ValueError, match="unknown SmilesTransformerConfig keys"):
        SmilesTransformerConfig.from_dict({**data, "width": 3})
    with pytest.raises(ValueError, match="heads"):
        SmilesTransformerConfig(dim=64, heads=5)
    with pytest.raises(ValueError, match="valid sizes"):
        SmilesTransformerConfig.preset("huge")
    with pytest.raises(ValueError, match="max_length"):
        SmilesTransformer(SmilesTransformerConfig(max_length=4))(encode(["CCCCCC"]))
