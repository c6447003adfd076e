"""induced_subgraph / filter_edges on collated batches against a naive loop over graphs."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch, Data

import molssl
from molssl.graph.batch import to_batch
from molssl.graph.subgraph import filter_edges, induced_subgraph
from tests.conftest import AWKWARD


def _naive_induced(data: Data, keep: list[bool]) -> Data:
    """Induced subgraph of one graph by hand: kept nodes in order, edges with both ends kept."""
    new_id, nodes = {}, []
    for node, k in enumerate(keep):
        if k:
            new_id[node] = len(nodes)
            nodes.append(node)
    edges = [j for j, (u, v) in enumerate(data.edge_index.t().tolist()) if keep[u] and keep[v]]
    edge_index = [[new_id[int(data.edge_index[r, j])] for j in edges] for r in range(2)]
    return Data(
        x=data.x[nodes],
        edge_index=torch.tensor(edge_index, dtype=torch.long).view(2, -1),
        edge_attr=data.edge_attr[edges],
    )


def _assert_graph_equal(ours: Data, ref: Data) -> None:
    for key in ("x", "edge_index", "edge_attr"):
        assert torch.equal(ours[key], ref[key]), key


@pytest.fixture(scope="module")
def mols(real_smiles):
    return molssl.featurize_many(AWKWARD + real_smiles[:200], scheme="hu", on_error="skip").graphs


def test_induced_subgraph_equals_loop_over_graphs(mols):
    y = torch.arange(len(mols), dtype=torch.float32).view(-1, 1)
    batch = to_batch(mols, {"y": y})
    for seed, rate in ((0, 0.5), (1, 0.1), (2, 0.9)):
        mask = torch.rand(batch.num_nodes, generator=torch.Generator().manual_seed(seed)) < rate
        sub, node_index = induced_subgraph(batch, mask)
        assert sub.num_graphs == batch.num_graphs
        assert torch.equal(node_index, mask.nonzero().view(-1))
        assert torch.equal(sub.x, batch.x[node_index]) and torch.equal(sub.batch, batch.batch[node_index])
        assert torch.equal(sub.y, y)
        counts = torch.bincount(batch.batch[mask], minlength=batch.num_graphs)
        assert torch.equal(sub.ptr, torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)]))
        if rate < 0.5:
            assert (counts == 0).sum() > 10  # graphs that lost every atom remain, empty
        pieces = sub.to_data_list()
        assert len(pieces) == batch.num_graphs
        for i, data in enumerate(batch.to_data_list()):
            keep = mask[batch.ptr[i] : batch.ptr[i + 1]].tolist()
            _assert_graph_equal(pieces[i], _naive_induced(data, keep))
            assert torch.equal(pieces[i].y, y[i : i + 1])


def test_all_and_nothing():
    batch = to_batch(molssl.featurize_many(["CCO", "[Na+]", "c1ccccc1"], scheme="hu").graphs)
    same, index = induced_subgraph(batch, torch.ones(batch.num_nodes, dtype=torch.bool))
    for key in ("x", "edge_index", "edge_attr", "batch", "ptr"):
        assert torch.equal(same[key], batch[key]), key
    assert torch.equal(index, torch.arange(batch.num_nodes))
    empty, index = induced_subgraph(batch, torch.zeros(batch.num_nodes, dtype=torch.bool))
    assert empty.num_graphs == 3 and empty.ptr.tolist() == [0, 0, 0, 0]
    assert empty.x.shape == (0, 2) and empty.edge_index.shape == (2, 0) and empty.edge_attr.shape == (0, 2)
    assert [d.num_nodes for d in empty.to_data_list()] == [0, 0, 0] and index.numel() == 0


def test_empty_input_graphs_and_trailing_empty_result():
    # a batch holding an empty graph (from an earlier subgraph) stays aligned through a second one
    batch = to_batch(molssl.featurize_many(["CCO", "[Na+]", "CC"], scheme="hu").graphs)
    first, _ = induced_subgraph(batch, torch.tensor([True, True, True, False, False, False]))
    assert first.ptr.tolist() == [0, 3, 3, 3]
    second, index = induced_subgraph(first, torch.tensor([False, True, True]))
    assert second.num_graphs == 3 and second.ptr.tolist() == [0, 2, 2, 2]
    assert second.edge_index.tolist() == [[0, 1], [1, 0]] and index.tolist() == [1, 2]
    assert [d.num_nodes for d in second.to_data_list()] == [2, 0, 0]


def test_from_data_list_batches_and_node_attributes():
    datas = [molssl.featurize(s, scheme="hu") for s in ("CC(=O)O", "N", "c1ccncc1")]
    for i, d in enumerate(datas):  # they also carry num_nodes (stale after selection) and smiles
        d.label = torch.tensor([float(i)])
        d.atom_flag = torch.arange(d.num_nodes) + 10 * i  # node-level: must be gathered
        d.edge_flag = torch.arange(d.edge_index.shape[1]) + 100 * i  # edge-level: must be filtered
    batch = Batch.from_data_list(datas)
    mask = torch.rand(batch.num_nodes, generator=torch.Generator().manual_seed(3)) < 0.6
    sub, index = induced_subgraph(batch, mask)
    assert torch.equal(sub.atom_flag, batch.atom_flag[index])
    assert torch.equal(sub.label, batch.label) and sub.smiles == batch.smiles
    assert sub.num_nodes == int(mask.sum()) and sub.ptr[-1] == sub.num_nodes
    for i, (piece, data) in enumerate(zip(sub.to_data_list(), datas)):
        keep = mask[batch.ptr[i] : batch.ptr[i + 1]].tolist()
        _assert_graph_equal(piece, _naive_induced(data, keep))
        kept_edges = [j for j, (u, v) in enumerate(data.edge_index.t().tolist()) if keep[u] and keep[v]]
        assert piece.edge_flag.tolist() == [100 * i + j for j in kept_edges]
        assert torch.equal(piece.label, data.label) and piece.smiles == data.smiles
        assert piece.num_nodes == sum(keep)


def test_filter_edges_equals_loop(mols):
    batch = to_batch(mols)
    mask = torch.rand(batch.edge_index.shape[1], generator=torch.Generator().manual_seed(5)) < 0.7
    sub, kept = filter_edges(batch, mask)
    assert torch.equal(kept, mask.nonzero().view(-1))
    assert torch.equal(sub.x, batch.x) and torch.equal(sub.ptr, batch.ptr) and sub.num_graphs == batch.num_graphs
    edge_ptr = batch._slice_dict["edge_index"]
    for i, (piece, data) in enumerate(zip(sub.to_data_list(), batch.to_data_list())):
        m = mask[edge_ptr[i] : edge_ptr[i + 1]]
        assert torch.equal(piece.x, data.x)
        assert torch.equal(piece.edge_index, data.edge_index[:, m]) and torch.equal(piece.edge_attr, data.edge_attr[m])


def test_bad_masks_raise():
    batch = to_batch(molssl.featurize_many(["CCO"], scheme="hu").graphs)
    with pytest.raises(ValueError, match="bool"):
        induced_subgraph(batch, torch.ones(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"shape \[3\]"):
        induced_subgraph(batch, torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"shape \[4\]"):
        filter_edges(batch, torch.ones(3, dtype=torch.bool))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_equals_cpu(mols):
    batch = to_batch(mols)
    mask = torch.rand(batch.num_nodes, generator=torch.Generator().manual_seed(0)) < 0.5
    cpu, cpu_index = induced_subgraph(batch, mask)
    gpu, gpu_index = induced_subgraph(batch.to("cuda"), mask.cuda())
    assert gpu.x.is_cuda and torch.equal(gpu_index.cpu(), cpu_index)
    for key in ("x", "edge_index", "edge_attr", "batch", "ptr"):
        assert torch.equal(gpu[key].cpu(), cpu[key]), key
