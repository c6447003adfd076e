"""hop_distances: vectorized multi-source BFS against networkx, one source per graph."""

from __future__ import annotations

import networkx as nx
import pytest
import torch

import molssl
from molssl.graph.batch import to_batch
from molssl.graph.hops import UNREACHED, hop_distances
from tests.conftest import AWKWARD


def _path(n: int) -> torch.Tensor:
    """Both directions of the bonds of a path 0 - 1 - ... - (n-1)."""
    a = torch.arange(n - 1)
    return torch.stack([torch.cat([a, a + 1]), torch.cat([a + 1, a])])


def _nx_graph(data) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(data.num_nodes))
    g.add_edges_from(data.edge_index.t().tolist())
    return g


def test_path_distances_and_cutoff():
    edge_index = _path(6)
    assert hop_distances(edge_index, 6, torch.tensor([0]), 10).tolist() == [0, 1, 2, 3, 4, 5]
    assert hop_distances(edge_index, 6, torch.tensor([2]), 2).tolist() == [2, 1, 0, 1, 2, UNREACHED]
    assert hop_distances(edge_index, 6, torch.tensor([2]), 0).tolist() == [-1, -1, 0, -1, -1, -1]


def test_several_sources_give_the_nearest_and_mask_equals_index():
    edge_index = _path(7)
    by_index = hop_distances(edge_index, 7, torch.tensor([0, 6]), 5)
    assert by_index.tolist() == [0, 1, 2, 3, 2, 1, 0]
    mask = torch.zeros(7, dtype=torch.bool)
    mask[[0, 6]] = True
    assert torch.equal(hop_distances(edge_index, 7, mask, 5), by_index)


def test_edges_are_followed_in_their_direction_and_isolated_nodes_count():
    edge_index = torch.tensor([[0, 1], [1, 2]])  # 0 -> 1 -> 2, node 3 isolated
    assert hop_distances(edge_index, 4, torch.tensor([1]), 3).tolist() == [-1, 0, 1, -1]
    assert hop_distances(torch.zeros(2, 0, dtype=torch.long), 3, torch.tensor([1]), 3).tolist() == [-1, 0, -1]
    assert hop_distances(torch.zeros(2, 0, dtype=torch.long), 0, torch.zeros(0, dtype=torch.long), 3).shape == (0,)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="max_hops"):
        hop_distances(_path(3), 3, torch.tensor([0]), -1)
    with pytest.raises(ValueError, match="shape"):
        hop_distances(_path(3), 3, torch.ones(4, dtype=torch.bool), 2)


@pytest.mark.parametrize("max_hops", [1, 3, 30])
def test_batched_bfs_equals_networkx_per_graph(real_smiles, max_hops):
    graphs = molssl.featurize_many(AWKWARD + real_smiles[:300], scheme="hu", on_error="skip").graphs
    batch = to_batch(graphs)
    gen = torch.Generator().manual_seed(max_hops)
    counts = batch.ptr[1:] - batch.ptr[:-1]
    sources = batch.ptr[:-1] + (torch.rand(batch.num_graphs, generator=gen) * counts).long()
    distance = hop_distances(batch.edge_index, batch.num_nodes, sources, max_hops)
    fragmented = 0
    for i, data in enumerate(batch.to_data_list()):
        g = _nx_graph(data)
        source = int(sources[i] - batch.ptr[i])
        expected = [UNREACHED] * data.num_nodes
        for node, d in nx.single_source_shortest_path_length(g, source, cutoff=max_hops).items():
            expected[node] = d
        assert distance[batch.ptr[i] : batch.ptr[i + 1]].tolist() == expected, (i, source)
        fragmented += nx.number_connected_components(g) > 1
    assert fragmented >= 5  # the awkward list's salts and mixtures were exercised
