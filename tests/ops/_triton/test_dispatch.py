"""Dispatch to the kernels: forcing, auto on CPU, once-differentiable, and the layers run through them."""

from __future__ import annotations

import pytest
import torch

import molssl
from molssl.graph.batch import to_batch
from molssl.nn import READOUTS, EncoderConfig, GNNEncoder, get_readout
from molssl.ops import resolve_backend, scatter, segment, segment_softmax, use_backend
from tests.ops._triton.conftest import DEVICE, ON_GPU, kernels_or_skip

kernels = kernels_or_skip()

SMILES = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "[Na+]",
    "CC(=O)[O-].[Na+]",
    "c1ccc2[nH]ccc2c1",
    "O",
    "C[C@H](N)O",
    "FC(F)(F)c1ccncc1",
]


def test_forced_triton_takes_this_device_and_auto_takes_the_kernels_only_on_cuda():
    x = torch.zeros(3, 2, device=DEVICE)
    assert resolve_backend(x, "triton") == "triton"
    assert resolve_backend(x, "auto") == ("triton" if ON_GPU else "torch")
    with use_backend("triton"):
        assert resolve_backend(x) == "triton"
    with pytest.raises(TypeError, match="backend='torch'"):
        resolve_backend(torch.zeros(3, dtype=torch.long, device=DEVICE), "triton")


def test_the_setting_reaches_callers_that_pass_no_backend(monkeypatch):
    calls = []
    original = kernels.scatter_reduce
    monkeypatch.setattr(kernels, "scatter_reduce", lambda *a: calls.append(a[-1]) or original(*a))
    src, index = torch.randn(5, 2, device=DEVICE), torch.tensor([0, 1, 1, 0, 2], device=DEVICE)
    scatter(src, index, 3, "max")
    assert calls == ([] if not ON_GPU else ["max"])
    with use_backend("triton", deterministic=False):
        scatter(src, index, 3, "max")
    assert calls[-1] == "max"


@pytest.mark.parametrize("op", ["scatter", "segment", "softmax"])
def test_kernels_are_once_differentiable(op):
    src = torch.randn(6, 2, dtype=torch.float64, device=DEVICE, requires_grad=True)
    index = torch.tensor([0, 0, 1, 1, 1, 2], device=DEVICE)
    ptr = torch.tensor([0, 2, 5, 6], device=DEVICE)
    run = {
        "scatter": lambda s, backend: scatter(s, index, 3, "sum", backend=backend),
        "segment": lambda s, backend: segment(s, ptr, "sum", backend=backend),
        "softmax": lambda s, backend: segment_softmax(s, index, 3, backend=backend),
    }[op]
    (grad,) = torch.autograd.grad(run(src, "triton").square().sum(), src, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        grad.sum().backward()
    # the documented way out: the reference is differentiable to any order
    (grad,) = torch.autograd.grad(run(src, "torch").square().sum(), src, create_graph=True)
    torch.autograd.grad(grad.sum(), src)


@pytest.fixture(scope="module")
def batch():
    graphs = molssl.featurize_many(SMILES, scheme="hu").graphs
    return to_batch(graphs).to(DEVICE)


@pytest.mark.parametrize("name", sorted(READOUTS))
def test_readouts_with_offsets_through_the_kernels_match_the_reference(name, batch):
    torch.manual_seed(0)
    readout = get_readout(name)(8).to(DEVICE)
    h = torch.randn(batch.num_nodes, 8, device=DEVICE, requires_grad=True)
    with use_backend("torch"):
        expected = readout(h, batch.batch, batch.num_graphs)
        (expected_grad,) = torch.autograd.grad(expected.square().sum(), h)
    for ptr in (None, batch.ptr):
        with use_backend("triton"):
            out = readout(h, batch.batch, batch.num_graphs, ptr=ptr)
        (grad,) = torch.autograd.grad(out.square().sum(), h)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(grad, expected_grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("conv", ["gin", "gat", "sage", "gcn"])
def test_encoder_training_step_is_the_same_on_both_backends(conv, batch):
    config = EncoderConfig(scheme="hu", conv=conv, num_layers=2, emb_dim=16, virtual_node=conv == "gin")
    results = {}
    for backend in ("torch", "triton"):
        torch.manual_seed(0)
        encoder = GNNEncoder(config).to(DEVICE)
        with use_backend(backend):
            loss = encoder(batch).square().mean()
        loss.backward()
        results[backend] = (loss.detach(), [p.grad for p in encoder.parameters()])
    torch.testing.assert_close(results["triton"][0], results["torch"][0], rtol=1e-5, atol=1e-6)
    for a, b in zip(results["triton"][1], results["torch"][1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_virtual_node_pools_each_graph_with_the_segment_kernel(batch, monkeypatch):
    """The encoder hands ``batch.ptr`` to the virtual node's pooling: no atomics, no sort."""
    pooled_with_offsets = []
    original = kernels.segment_reduce
    monkeypatch.setattr(
        kernels, "segment_reduce", lambda src, ptr, perm, reduce: pooled_with_offsets.append(perm is None)
        or original(src, ptr, perm, reduce)
    )  # fmt: skip
    encoder = GNNEncoder(EncoderConfig(scheme="hu", num_layers=3, emb_dim=8, virtual_node=True)).to(DEVICE)
    with use_backend("triton", deterministic=False):
        encoder(batch)
    # one pooling per layer but the last; the layers' sums go through the encoder's edge order (a perm)
    assert pooled_with_offsets.count(True) == 2 and pooled_with_offsets.count(False) == 3 * 2


@pytest.mark.gpu
@pytest.mark.skipif(not ON_GPU, reason="needs a CUDA device (atomics are sequential under the interpreter)")
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_deterministic_mode_is_bitwise_reproducible_where_atomics_are_not(reduce):
    g = torch.Generator(device=DEVICE).manual_seed(0)
    index = torch.randint(0, 50_000, (400_000,), device=DEVICE, generator=g)
    src = torch.randn(400_000, 128, device=DEVICE, generator=g, requires_grad=True)
    grad_out = torch.randn(50_000, 128, device=DEVICE, generator=g)
    runs = []
    for _ in range(5):
        out = scatter(src, index, 50_000, reduce, backend="triton", deterministic=True)
        runs.append((out, torch.autograd.grad(out, src, grad_out)[0]))
    assert all(torch.equal(runs[0][0], o) and torch.equal(runs[0][1], g) for o, g in runs[1:])
    fast = scatter(src, index, 50_000, reduce, backend="triton", deterministic=False)
    torch.testing.assert_close(fast, runs[0][0], rtol=1e-5, atol=1e-5)
