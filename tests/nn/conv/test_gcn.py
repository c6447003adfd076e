"""GCNConv (Hu et al. linear messages; OGB ReLU messages with root embedding) against a per-node loop."""

from __future__ import annotations

import math

import torch

from molssl.nn import GCNConv
from tests.nn.conv.conftest import build, incoming


def test_gcn_matches_per_node_loop(conv_inputs):
    scheme, x, edge_index, edge_attr = conv_inputs
    conv = build(GCNConv, scheme)
    hu = scheme.self_loop_token is not None
    h = conv.linear(x)
    e = conv.bond_embedding(edge_attr)
    loop = conv.bond_embedding(torch.tensor([scheme.self_loop_token]))[0] if hu else conv.self_loop.root.weight[0]
    act = (lambda t: t) if hu else torch.relu
    degree = [1 + len(incoming(edge_index, i)) for i in range(x.size(0))]
    rows = []
    for i in range(x.size(0)):
        total = act(h[i] + loop) / degree[i]
        for k in incoming(edge_index, i):
            j = int(edge_index[0, k])
            total = total + act(h[j] + e[k]) / math.sqrt(degree[i] * degree[j])
        rows.append(total)
    torch.testing.assert_close(conv(x, edge_index, edge_attr), torch.stack(rows))
    assert conv.variant == ("hu" if hu else "ogb")
