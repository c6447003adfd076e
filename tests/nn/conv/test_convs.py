"""What every conv shares: node-permutation equivariance, isolated nodes, gradients, the registry."""

from __future__ import annotations

import pytest
import torch

from molssl.nn import CONVS, get_conv
from molssl.nn.conv.self_loops import self_loop_order
from molssl.ops import segment_order, use_backend
from tests.nn.conv.conftest import build


@pytest.mark.parametrize("name", sorted(CONVS))
def test_conv_is_node_permutation_equivariant(name, conv_inputs):
    scheme, x, edge_index, edge_attr = conv_inputs
    conv = build(CONVS[name], scheme)
    g = torch.Generator().manual_seed(1)
    perm = torch.randperm(x.size(0), generator=g)
    inverse = torch.argsort(perm)
    edge_perm = torch.randperm(edge_index.size(1), generator=g)
    out = conv(x, edge_index, edge_attr)
    permuted = conv(x[perm], inverse[edge_index[:, edge_perm]], edge_attr[edge_perm])
    torch.testing.assert_close(permuted, out[perm])


@pytest.mark.parametrize("name", sorted(CONVS))
def test_conv_handles_isolated_nodes_and_reaches_every_parameter(name, conv_inputs):
    scheme, x, edge_index, edge_attr = conv_inputs
    conv = build(CONVS[name], scheme).train()
    out = conv(x, edge_index, edge_attr)
    assert out.shape == x.shape and torch.isfinite(out).all()
    isolated = torch.ones(x.size(0), dtype=torch.bool)
    isolated[edge_index[1]] = False
    assert isolated.any()  # the inputs include single atoms
    out.square().sum().backward()
    unused = [n for n, p in conv.named_parameters() if p.grad is None or not p.grad.any()]
    assert not unused


@pytest.mark.parametrize("name", sorted(CONVS))
def test_conv_with_the_order_of_its_targets_equals_without(name, conv_inputs):
    """On the reference, where only the order's other uses differ: GIN's bond counts, GCN's degrees."""
    scheme, x, edge_index, edge_attr = conv_inputs
    conv = build(CONVS[name], scheme)
    x = x.clone().requires_grad_(True)
    with use_backend("torch"):
        out = conv(x, edge_index, edge_attr)
        ordered = conv(x, edge_index, edge_attr, order=segment_order(edge_index[1], x.size(0)))
    torch.testing.assert_close(ordered, out)
    torch.testing.assert_close(torch.autograd.grad(ordered.sum(), x)[0], torch.autograd.grad(out.sum(), x)[0])


def test_self_loop_order_is_the_order_of_the_targets_with_loops_appended(conv_inputs):
    _, x, edge_index, _ = conv_inputs
    num_nodes = x.size(0)
    derived = self_loop_order(segment_order(edge_index[1], num_nodes))
    sorted_again = segment_order(torch.cat([edge_index[1], torch.arange(num_nodes)]), num_nodes)
    assert torch.equal(derived.perm, sorted_again.perm) and torch.equal(derived.ptr, sorted_again.ptr)
    none = self_loop_order(segment_order(torch.zeros(0, dtype=torch.long), 3))  # three single atoms
    assert none.perm.tolist() == [0, 1, 2] and none.ptr.tolist() == [0, 1, 2, 3]


def test_self_loop_token_is_checked_against_the_vocab():
    with pytest.raises(ValueError, match="self_loop_token"):
        get_conv("gin")(8, (6, 3), (6, 0))


def test_unknown_conv_lists_valid_ones():
    with pytest.raises(ValueError, match="valid convs: gat, gcn, gin, sage"):
        get_conv("transformer")
