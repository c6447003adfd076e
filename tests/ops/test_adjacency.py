"""neighbour_sum: the CPU sparse product against the gather/scatter it replaces, and its adjacency cache."""

from __future__ import annotations

import pytest
import torch

from molssl.graph.batch import to_batch
from molssl.ops import scatter, use_backend
from molssl.ops.adjacency import adjacency_of, build_adjacency, neighbour_sum, sparse_path_applies
from tests.nn.conftest import molecules


def reference(x: torch.Tensor, edge_index: torch.Tensor, n: int) -> torch.Tensor:
    return scatter(x.index_select(0, edge_index[0]), edge_index[1], dim_size=n, reduce="sum", backend="torch")


@pytest.fixture(scope="module")
def batch():
    graphs = molecules("hu", 12)  # BBBP molecules, single atoms, salts, a metal complex
    return to_batch(graphs.select(list(range(len(graphs)))))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_gather_scatter_values_and_gradients(batch, dtype):
    n = batch.num_nodes
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 7, generator=g, dtype=dtype, requires_grad=True)
    grad = torch.randn(n, 7, generator=g, dtype=dtype)
    assert sparse_path_applies(x)
    out = neighbour_sum(x, batch.edge_index, n)
    (gx,) = torch.autograd.grad(out, x, grad)
    x2 = x.detach().clone().requires_grad_(True)
    ref = reference(x2, batch.edge_index, n)
    (gx2,) = torch.autograd.grad(ref, x2, grad)
    # same additions in the same order: each target's edges stay in their original order
    assert torch.equal(out, ref)
    torch.testing.assert_close(gx, gx2)
    assert out.grad_fn is not None and "SparseNeighbourSum" in type(out.grad_fn).__name__


def test_directed_edges_multi_edges_and_isolated_nodes():
    edge_index = torch.tensor([[0, 0, 2, 3, 3], [1, 1, 1, 0, 3]])  # a double edge, a self-loop; node 4 isolated
    x = torch.arange(10, dtype=torch.float32).view(5, 2).requires_grad_(True)
    out = neighbour_sum(x, edge_index, 5)
    assert out.tolist() == [[6, 7], [4, 7], [0, 0], [6, 7], [0, 0]]  # 1 <- 0 twice and 2
    out.sum().backward()  # grad of x[j] = its number of outgoing edges
    assert x.grad[:, 0].tolist() == [2, 0, 1, 2, 0]


def test_no_edges():
    x = torch.randn(3, 4, requires_grad=True)
    out = neighbour_sum(x, torch.zeros(2, 0, dtype=torch.long), 3)
    assert torch.equal(out, torch.zeros(3, 4))
    out.sum().backward()
    assert torch.equal(x.grad, torch.zeros(3, 4))


def test_autocast_and_bf16_take_the_gather_scatter_path(batch):
    n = batch.num_nodes
    x = torch.randn(n, 5, dtype=torch.bfloat16)
    assert not sparse_path_applies(x)
    torch.testing.assert_close(neighbour_sum(x, batch.edge_index, n), reference(x, batch.edge_index, n))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not sparse_path_applies(torch.randn(n, 5))


def test_a_chosen_triton_backend_takes_the_gather_scatter_path():
    x = torch.randn(4, 3)
    assert sparse_path_applies(x)
    with use_backend("triton"):
        assert not sparse_path_applies(x)  # the backend the user chose runs, not the CPU shortcut
    with use_backend("torch"):
        assert sparse_path_applies(x)


def test_adjacency_is_reused_for_the_same_tensor_and_rebuilt_when_it_changes():
    edge_index = torch.tensor([[0, 1], [1, 2]])
    first = adjacency_of(edge_index, 3)
    assert adjacency_of(edge_index, 3) is first  # the layers of one forward share it
    assert adjacency_of(edge_index.clone(), 3) is not first  # another tensor: rebuilt
    edge_index[1, 1] = 0  # changed in place: rebuilt, and the sums follow the new edges
    x = torch.eye(3)
    assert neighbour_sum(x, edge_index, 3).tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 0]]


def test_inference_mode_tensors_without_a_version_counter(batch):
    with torch.no_grad():
        expected = neighbour_sum(batch.x[:, :1].float().repeat(1, 4), batch.edge_index, batch.num_nodes)
    with torch.inference_mode():
        edge_index = batch.edge_index.clone()  # an inference tensor, as the batches of predict are
        x = batch.x[:, :1].float().repeat(1, 4)
        first = adjacency_of(edge_index, batch.num_nodes)
        assert adjacency_of(edge_index, batch.num_nodes) is first
        assert torch.equal(neighbour_sum(x, edge_index, batch.num_nodes), expected)


def test_bad_edge_index_is_an_error_naming_the_reason():
    with pytest.raises(ValueError, match=r"outside \[0, 3\)"):
        build_adjacency(torch.tensor([[0, 3], [1, 2]]), 3)
    with pytest.raises(ValueError, match=r"\[2, E\] integer tensor"):
        build_adjacency(torch.zeros(3, 2, dtype=torch.long), 3)
