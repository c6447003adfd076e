"""Subgraph sampling: exact counts, connected results, a per-graph Dijkstra reference, GraphCL's process."""

from __future__ import annotations

import heapq
from collections import Counter
from fractions import Fraction

import networkx as nx
import pytest
import torch

from molssl.augment import Subgraph
from molssl.augment.sampling import random_ranks
from molssl.augment.subgraph import grow_subgraphs
from tests.augment.conftest import (
    Molecules,
    batch_of,
    checked_atom_removal,
    expected_count,
    generator,
)


def graph_of(batch, i) -> nx.Graph:
    """Graph ``i`` of ``batch`` as a networkx graph on local atom indices."""
    start, end = int(batch.ptr[i]), int(batch.ptr[i + 1])
    graph = nx.Graph()
    graph.add_nodes_from(range(end - start))
    inside = (batch.edge_index[0] >= start) & (batch.edge_index[0] < end)
    graph.add_edges_from((batch.edge_index[:, inside] - start).t().tolist())
    return graph


@pytest.mark.parametrize("molecules", ["hand_built", "awkward", "real"])
@pytest.mark.parametrize("ratio", [0.2, 0.5, 0.8])
def test_keeps_exactly_n_minus_int_n_ratio_atoms_and_connected(molecules, ratio, request):
    mols: Molecules = request.getfixturevalue(molecules)
    batch, out, kept = checked_atom_removal(Subgraph(ratio=ratio), mols)
    kept_set = set(kept.tolist())
    for i in range(batch.num_graphs):
        source, result = graph_of(batch, i), graph_of(out, i)
        if nx.is_connected(source):
            assert nx.is_connected(result), mols.smiles[i]
        else:
            # whole fragments, and at most one fragment partly, itself connected
            start = int(batch.ptr[i])
            local = {a - start for a in kept_set if start <= a < int(batch.ptr[i + 1])}
            partial = [c for c in nx.connected_components(source) if local & c and not c <= local]
            assert len(partial) <= 1, mols.smiles[i]
            if partial:
                assert nx.is_connected(source.subgraph(local & partial[0]))


def dijkstra_growth_loop(batch, keep, seed_rank, weight):
    """Naive reference of ``grow_subgraphs``: a heap-based Dijkstra per fragment, per graph."""
    kept = torch.zeros(batch.num_nodes, dtype=torch.bool)
    for i in range(batch.num_graphs):
        start, end = int(batch.ptr[i]), int(batch.ptr[i + 1])
        graph = graph_of(batch, i)
        rank = seed_rank[start:end].tolist()
        cost = weight[start:end].tolist()
        order_key = {}
        for seed in sorted(range(end - start), key=rank.__getitem__):
            if seed in order_key:
                continue
            distance = {seed: 0}
            heap = [(0, seed)]
            while heap:
                d, u = heapq.heappop(heap)
                if d > distance[u]:
                    continue
                for v in graph.neighbors(u):
                    if d + cost[v] < distance.get(v, float("inf")):
                        distance[v] = d + cost[v]
                        heapq.heappush(heap, (distance[v], v))
            for atom, d in distance.items():
                order_key[atom] = (rank[seed], d, atom)
        for atom in sorted(order_key, key=order_key.__getitem__)[: int(keep[i])]:
            kept[start + atom] = True
    return kept


@pytest.mark.parametrize("max_weight", [3, 2**20])
def test_grow_subgraphs_matches_a_per_graph_dijkstra(real, awkward, max_weight):
    for mols in (real, awkward):
        batch = mols.batch()
        sizes = batch.ptr.diff()
        keep = sizes - torch.tensor(expected_count(mols.atoms, 0.3))
        seed_rank = random_ranks(batch.batch, batch.num_graphs, generator(1))
        weight = torch.randint(1, max_weight + 1, (batch.num_nodes,), generator=generator(2))  # small: ties
        got = grow_subgraphs(batch.edge_index, batch.batch, batch.num_graphs, keep, seed_rank, weight)
        assert torch.equal(got, dijkstra_growth_loop(batch, keep, seed_rank, weight))


def graphcl_process_probabilities(graph: nx.Graph, size: int) -> dict[frozenset, Fraction]:
    """Exact law of the kept set under GraphCL's intended process: a uniform seed, then repeatedly a
    uniform atom of the frontier (a uniform unvisited atom when the frontier is empty)."""
    law: dict[frozenset, Fraction] = Counter()

    def grow(taken: frozenset, p: Fraction) -> None:
        if len(taken) == size:
            law[taken] += p
            return
        frontier = {v for u in taken for v in graph.neighbors(u)} - taken or set(graph.nodes) - taken
        for v in frontier:
            grow(taken | {v}, p / len(frontier))

    grow(frozenset(), Fraction(1))
    return law


@pytest.mark.parametrize(("smiles", "ratio"), [("CC(C)CC", 0.4), ("CC(C)C(C)C", 0.34), ("CC1CC1.O", 0.2)])
def test_follows_graphcl_growth_process_in_distribution(smiles, ratio):
    mols = Molecules([smiles])
    copies = 4000
    batch = batch_of(mols.graphs.select([0] * copies))
    n = int(mols.atoms[0])
    size = n - int(n * ratio)
    kept = Subgraph(ratio=ratio).kept_atoms(batch, generator(0)).view(copies, n)
    observed = Counter(frozenset(row.nonzero().view(-1).tolist()) for row in kept)
    law = graphcl_process_probabilities(graph_of(batch, 0), size)
    assert set(observed) <= set(law)
    for subset, p in law.items():
        assert abs(observed[subset] / copies - float(p)) < 0.035, (sorted(subset), observed[subset] / copies, float(p))


def test_validation():
    with pytest.raises(ValueError, match="ratio"):
        Subgraph(ratio=1.0)
    assert Subgraph(ratio=0.1).to_dict() == {"name": "subgraph", "ratio": 0.1}
