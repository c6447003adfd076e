"""GATConv (bond features in messages and scores, softmax over incoming edges) against a per-node loop."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from molssl.nn import GATConv
from tests.nn.conv.conftest import DIM, build, incoming


def per_node_loop(conv: GATConv, scheme: dict, x, edge_index, edge_attr, normalize=None):
    """The GAT layer node by node; ``normalize`` maps one node's scores [M] to weights (default softmax).

    Returns the outputs [N, D] and the largest score of every (node, head).
    """
    heads = conv.heads
    normalize = normalize or (lambda scores: torch.softmax(scores, dim=0))
    h = conv.linear(x).view(-1, heads, DIM)
    e = conv.bond_embedding(edge_attr).view(-1, heads, DIM)
    if scheme.self_loop_token is not None:
        loop = conv.bond_embedding(torch.tensor([scheme.self_loop_token])).view(heads, DIM)
    else:
        loop = conv.self_loop.root.weight.view(heads, DIM)
    rows, maxima = [], []
    for i in range(x.size(0)):
        # [M, H, D]: the self-loop message, then one per incoming edge
        messages = torch.stack([h[i] + loop] + [h[edge_index[0, k]] + e[k] for k in incoming(edge_index, i)])
        out = torch.zeros(heads, DIM, dtype=x.dtype)
        for k in range(heads):
            scores = F.leaky_relu(torch.stack([conv.att[0, k] @ torch.cat([h[i, k], m[k]]) for m in messages]), 0.2)
            maxima.append(float(scores.max()))
            out[k] = (normalize(scores)[:, None] * messages[:, k]).sum(0)
        rows.append(out.mean(0) + conv.bias)
    return torch.stack(rows), maxima


@pytest.mark.parametrize("heads", [1, 2, 3])
def test_gat_matches_per_node_loop(conv_inputs, heads):
    scheme, x, edge_index, edge_attr = conv_inputs
    conv = build(GATConv, scheme, heads=heads)
    torch.testing.assert_close(conv(x, edge_index, edge_attr), per_node_loop(conv, scheme, x, edge_index, edge_attr)[0])


def test_gat_sizes_follow_heads():
    conv = GATConv(DIM, (6, 3), (4, 0), heads=2)
    assert tuple(conv.linear.weight.shape) == (2 * DIM, DIM)
    assert tuple(conv.att.shape) == (1, 2, 2 * DIM)
    assert [tuple(t.weight.shape) for t in conv.bond_embedding.embeddings] == [(6, 2 * DIM), (3, 2 * DIM)]
    with pytest.raises(ValueError, match="heads"):
        GATConv(DIM, (6, 3), heads=0)


def _legacy_softmax(scores: torch.Tensor) -> torch.Tensor:
    """pretrain-gnns' softmax over one node's scores [M]: the shift is max(0, max) and 1e-16 joins the sum.

    PyG 1.0.3's ``softmax`` subtracts ``scatter_max(...)`` of torch-scatter 1.1.2, whose output starts
    filled with 0, so a node whose scores are all negative is shifted by 0, not by its maximum.
    """
    shifted = (scores - max(0.0, float(scores.max()))).exp()
    return shifted / (shifted.sum() + 1e-16)


@pytest.mark.parametrize("scale", [1.0, 400.0])
def test_gat_legacy_softmax_matches_per_node_loop(conv_inputs, scale):
    """``softmax="pretrain_gnns_legacy"``: at scale 400 many scores sit far below -87, as in the released weights."""
    scheme, x, edge_index, edge_attr = conv_inputs
    conv = build(GATConv, scheme, heads=2, softmax="pretrain_gnns_legacy")
    with torch.no_grad():
        conv.att.mul_(scale)
    expected, maxima = per_node_loop(conv, scheme, x, edge_index, edge_attr, normalize=_legacy_softmax)
    if scale > 1:  # both branches of the shift: some node's every score underflows in float32 (weights ~0)
        assert min(maxima) < -87 and max(maxima) > 0
    torch.testing.assert_close(conv(x, edge_index, edge_attr), expected)


def test_gat_legacy_softmax_differs_from_standard_when_scores_are_negative(conv_inputs):
    scheme, x, edge_index, edge_attr = conv_inputs
    standard = build(GATConv, scheme)
    legacy = build(GATConv, scheme, softmax="pretrain_gnns_legacy")
    legacy.load_state_dict(standard.state_dict())
    with torch.no_grad():
        for conv in (standard, legacy):
            conv.att.mul_(400.0)
    assert (standard(x, edge_index, edge_attr) - legacy(x, edge_index, edge_attr)).abs().max() > 0.1


def test_gat_default_softmax_is_standard_and_bitwise_unchanged(conv_inputs):
    scheme, x, edge_index, edge_attr = conv_inputs
    default = build(GATConv, scheme)
    explicit = build(GATConv, scheme, softmax="standard")
    assert default.softmax == "standard"
    assert torch.equal(default(x, edge_index, edge_attr), explicit(x, edge_index, edge_attr))


def test_gat_unknown_softmax_lists_the_valid_ones():
    with pytest.raises(ValueError, match="pretrain_gnns_legacy.*standard|standard.*pretrain_gnns_legacy"):
        GATConv(DIM, (6, 3), (4, 0), softmax="sparsemax")


def test_encoder_config_passes_conv_options_and_keeps_them_as_plain_data():
    import json

    from molssl.nn import EncoderConfig, GNNEncoder

    config = EncoderConfig(scheme="hu", conv="gat", num_layers=2, emb_dim=DIM,
                           conv_options={"softmax": "pretrain_gnns_legacy", "heads": 3})  # fmt: skip
    encoder = GNNEncoder(config)
    assert [(c.softmax, c.heads) for c in encoder.convs] == [("pretrain_gnns_legacy", 3)] * 2
    again = EncoderConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.conv_options == {"softmax": "pretrain_gnns_legacy", "heads": 3}
    assert EncoderConfig(scheme="hu", conv="gat").conv_options == {}
    assert GNNEncoder(EncoderConfig(scheme="hu", conv="gat", num_layers=2, emb_dim=DIM)).convs[0].softmax == "standard"


def test_encoder_config_refuses_options_its_conv_does_not_take():
    from molssl.nn import EncoderConfig

    with pytest.raises(ValueError, match="softmax.*gcn|gcn.*softmax"):
        EncoderConfig(scheme="hu", conv="gcn", conv_options={"softmax": "pretrain_gnns_legacy"})
    with pytest.raises(ValueError, match="heads, negative_slope, softmax"):
        EncoderConfig(scheme="hu", conv="gat", conv_options={"head": 2})
    with pytest.raises(ValueError, match="unknown GAT softmax"):
        EncoderConfig(scheme="hu", conv="gat", conv_options={"softmax": "sparse"})
    with pytest.raises(ValueError, match="plain"):
        EncoderConfig(scheme="hu", conv="gat", conv_options={"heads": torch.tensor(2)})
