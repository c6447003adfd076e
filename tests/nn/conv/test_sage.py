"""SAGEConv (mean over neighbours and self-loop, L2-normalized) against a per-node loop."""

from __future__ import annotations

import torch

from molssl.nn import SAGEConv
from tests.nn.conv.conftest import build, incoming


def test_sage_matches_per_node_loop(conv_inputs):
    scheme, x, edge_index, edge_attr = conv_inputs
    conv = build(SAGEConv, scheme)
    h = conv.linear(x)
    e = conv.bond_embedding(edge_attr)
    if scheme.self_loop_token is not None:
        loop = conv.bond_embedding(torch.tensor([scheme.self_loop_token]))[0]
    else:
        loop = conv.self_loop.root.weight[0]
    rows = []
    for i in range(x.size(0)):
        messages = [h[i] + loop] + [h[edge_index[0, k]] + e[k] for k in incoming(edge_index, i)]
        mean = torch.stack(messages).mean(0)
        rows.append(mean / mean.norm())
    out = conv(x, edge_index, edge_attr)
    torch.testing.assert_close(out, torch.stack(rows))
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(x.size(0), dtype=x.dtype))
