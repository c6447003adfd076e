"""GINConv in both forms (Hu et al. with self-loop edges; OGB with eps) against per-node loops and PyG."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.nn import GINEConv

from molssl.nn import GINConv
from tests.nn.conv.conftest import build, incoming


def test_gin_matches_per_node_loop(conv_inputs):
    scheme, x, edge_index, edge_attr = conv_inputs
    conv = build(GINConv, scheme)
    e = conv.bond_embedding(edge_attr)
    rows = []
    for i in range(x.size(0)):
        total = torch.zeros_like(x[i])
        if scheme.self_loop_token is not None:
            loop = conv.bond_embedding(torch.tensor([scheme.self_loop_token]))[0]
            total = total + x[i] + loop
            for k in incoming(edge_index, i):
                total = total + x[edge_index[0, k]] + e[k]
        else:
            total = total + (1 + conv.eps) * x[i]
            for k in incoming(edge_index, i):
                total = total + torch.relu(x[edge_index[0, k]] + e[k])
        rows.append(total)
    expected = conv.mlp(torch.stack(rows))
    torch.testing.assert_close(conv(x, edge_index, edge_attr), expected)


def test_gin_form_follows_the_scheme(conv_inputs):
    scheme, *_ = conv_inputs
    conv = GINConv(8, scheme.bond_vocab, scheme.self_loop_token)
    if scheme.self_loop_token is not None:  # Hu et al.: Linear-ReLU-Linear, no eps
        assert conv.variant == "hu" and conv.eps is None
        assert [type(m).__name__ for m in conv.mlp] == ["Linear", "ReLU", "Linear"]
    else:  # OGB: Linear-BN-ReLU-Linear, eps initially 0
        assert conv.variant == "ogb" and conv.eps.item() == 0.0
        assert [type(m).__name__ for m in conv.mlp] == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert [tuple(m.weight.shape) for m in conv.mlp if isinstance(m, torch.nn.Linear)] == [(16, 8), (8, 16)]


def test_ogb_form_equals_pyg_gineconv(conv_inputs):
    scheme, x, edge_index, edge_attr = conv_inputs
    if scheme.self_loop_token is not None:
        pytest.skip("the hu form (self-loop edges, no eps) has no PyG counterpart")
    conv = build(GINConv, scheme)
    reference = GINEConv(conv.mlp, train_eps=True).double().eval()
    with torch.no_grad():
        reference.eps.copy_(conv.eps)
    torch.testing.assert_close(conv(x, edge_index, edge_attr), reference(x, edge_index, conv.bond_embedding(edge_attr)))
