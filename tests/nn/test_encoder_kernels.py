"""The encoder on the Triton backend (under the interpreter on CPU): one edge order per forward, every layer.

With the kernels forced, the encoder sorts ``edge_index[1]`` once (or takes the order the collate step
attached) and every aggregation, forward and backward, runs the segment kernel through it: the atomics
kernel and the per-call sort are made unreachable here to prove it. The result must equal the torch
backend's, and stay node-permutation equivariant. The encoders run in float64 (the kernels take it on
the same order path), so that the comparison is tight: in float32 the sums merely run in another order.
"""

from __future__ import annotations

import copy
import importlib

import pytest
import torch

import molssl.nn.encoder as encoder_module
from molssl.graph.batch import to_batch
from molssl.graph.subgraph import filter_edges, induced_subgraph
from molssl.nn import CONVS, EncoderConfig, GNNEncoder
from molssl.ops import use_backend
from tests.nn.conftest import molecules, permute_nodes
from tests.ops._triton.conftest import DEVICE, kernels_or_skip

kernels = kernels_or_skip()
dispatch = importlib.import_module("molssl.ops.dispatch")  # where the operations sort an unsorted index

SMALL = {"num_layers": 2, "emb_dim": 8}


@pytest.fixture(scope="module")
def graphs():
    return {scheme: molecules(scheme, count=3) for scheme in ("hu", "ogb")}


@pytest.fixture
def order_path_only(monkeypatch):
    """Atomics and per-call sorts unreachable: every aggregation must go through the shared order."""

    def refuse(*args, **kwargs):
        raise AssertionError("an aggregation sorted its index again instead of using the encoder's order")

    monkeypatch.setattr(kernels, "scatter_reduce", None)
    monkeypatch.setattr(dispatch, "sort_index", refuse)


def run(config: EncoderConfig, batch, backend: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Output and parameter gradients of a freshly seeded float64 encoder (train mode) on ``backend``."""
    torch.manual_seed(0)
    encoder = GNNEncoder(config).to(DEVICE, torch.float64)
    with use_backend(backend):
        out = encoder(batch)
        out.square().sum().backward()
    return out.detach(), [p.grad for p in encoder.parameters()]


def assert_same(a, b) -> None:
    torch.testing.assert_close(a[0], b[0], rtol=1e-9, atol=1e-9)
    for grad_a, grad_b in zip(a[1], b[1]):
        torch.testing.assert_close(grad_a, grad_b, rtol=1e-9, atol=1e-9)


CASES = [(conv, "hu", False) for conv in sorted(CONVS)] + [("gin", "ogb", True), ("gat", "ogb", False)]


@pytest.mark.parametrize("conv, scheme, virtual_node", CASES)
def test_triton_with_the_order_of_each_forward_equals_torch(conv, scheme, virtual_node, graphs, monkeypatch):
    config = EncoderConfig(scheme=scheme, conv=conv, virtual_node=virtual_node, **SMALL)
    batch = to_batch(graphs[scheme]).to(DEVICE)
    expected = run(config, batch, "torch")
    sorts = []
    original = encoder_module.segment_order
    monkeypatch.setattr(encoder_module, "segment_order", lambda *a: sorts.append(a) or original(*a))
    monkeypatch.setattr(kernels, "scatter_reduce", None)
    monkeypatch.setattr(dispatch, "sort_index", None)
    assert_same(run(config, batch, "triton"), expected)
    assert len(sorts) == 1  # once per forward, whatever the number of layers


@pytest.mark.parametrize("conv", ["gin", "gat"])
def test_triton_with_the_collate_time_order_equals_torch(conv, graphs, order_path_only, monkeypatch):
    config = EncoderConfig(scheme="hu", conv=conv, **SMALL)
    batch = to_batch(graphs["hu"], edge_order=True).to(DEVICE)  # the order stays on the CPU; the encoder moves it
    expected = run(config, batch, "torch")
    monkeypatch.setattr(encoder_module, "segment_order", None)  # the attached order must be used
    assert_same(run(config, batch, "triton"), expected)


@pytest.mark.parametrize("conv", sorted(CONVS))
def test_triton_encoder_is_node_permutation_equivariant(conv, graphs, order_path_only):
    batch = to_batch(graphs["hu"])
    permuted, perm = permute_nodes(batch)
    torch.manual_seed(0)
    encoder = GNNEncoder(EncoderConfig(scheme="hu", conv=conv, **SMALL)).to(DEVICE, torch.float64).eval()
    with torch.no_grad(), use_backend("triton"):
        out = encoder(batch.to(DEVICE))
        torch.testing.assert_close(encoder(permuted.to(DEVICE)), out[perm.to(DEVICE)], rtol=1e-9, atol=1e-9)


def test_batches_with_rewritten_edges_do_not_reuse_a_stale_order(graphs, order_path_only):
    """Subgraphs and edge filtering build a new batch without the order; a copy with other edges is refused."""
    config = EncoderConfig(scheme="hu", conv="gin", **SMALL)
    batch = to_batch(graphs["hu"], edge_order=True)
    keep = torch.ones(batch.edge_index.size(1), dtype=torch.bool)
    keep[:4] = False  # drop two bonds: same atoms, other edges
    dropped, _ = filter_edges(batch, keep)
    node_mask = torch.ones(batch.num_nodes, dtype=torch.bool)
    node_mask[1] = False
    induced, _ = induced_subgraph(batch, node_mask)
    # a shallow copy whose edges were replaced without dropping the order: its shapes no longer fit
    replaced = copy.copy(batch)
    replaced.edge_index, replaced.edge_attr = dropped.edge_index, dropped.edge_attr
    for view in (dropped, induced, replaced):
        view = view.to(DEVICE)
        assert_same(run(config, view, "triton"), run(config, view, "torch"))
