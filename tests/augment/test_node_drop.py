"""Node dropping: exactly int(n * ratio) atoms per graph, their bonds with them; a per-graph reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from molssl.augment import NodeDrop
from molssl.graph.arrays import GraphArrays
from tests.augment.conftest import (
    Molecules,
    assert_same_batch,
    assert_well_formed,
    batch_of,
    checked_atom_removal,
    generator,
)


def graphcl_drop_nodes_loop(batch: Batch, ratio: float, seed: int) -> Batch:
    """Naive reference: GraphCL's ``drop_nodes`` graph by graph, with the random order NodeDrop draws.

    NodeDrop visits all atoms in one ``randperm`` order; graph i drops the first ``int(n_i * ratio)``
    of its atoms in that order. Edges survive when both ends do, relabelled to the kept atoms.
    """
    perm = torch.randperm(batch.num_nodes, generator=generator(seed)).tolist()
    position = {atom: i for i, atom in enumerate(perm)}
    edge_ptr = batch._slice_dict["edge_index"].tolist()
    edge_list = batch.edge_index.t().tolist()
    graphs = []
    for i in range(batch.num_graphs):
        start, end = int(batch.ptr[i]), int(batch.ptr[i + 1])
        own = sorted(range(start, end), key=position.__getitem__)
        drop = set(own[: int((end - start) * ratio)])
        kept = [a for a in range(start, end) if a not in drop]
        new_index = {a: j for j, a in enumerate(kept)}
        edges, attrs = [], []
        for e in range(edge_ptr[i], edge_ptr[i + 1]):
            a, b = edge_list[e]
            if a in new_index and b in new_index:
                edges.append([new_index[a], new_index[b]])
                attrs.append(batch.edge_attr[e])
        graphs.append(
            Data(
                x=batch.x[kept] if kept else batch.x[:0],
                edge_index=torch.tensor(edges, dtype=torch.long).t().reshape(2, -1),
                edge_attr=torch.stack(attrs) if attrs else batch.edge_attr[:0],
                y=batch.y[i : i + 1],
            )
        )
    return Batch.from_data_list(graphs)


@pytest.mark.parametrize("ratio", [0.2, 0.45])
def test_matches_a_per_graph_loop_on_real_molecules(real, ratio):
    batch = real.batch()
    out = NodeDrop(ratio=ratio)(batch, generator(11))
    assert_same_batch(out, graphcl_drop_nodes_loop(batch, ratio, seed=11))


@pytest.mark.parametrize("molecules", ["hand_built", "awkward", "real"])
@pytest.mark.parametrize("ratio", [0.2, 0.5, 0.9])
def test_drops_exactly_int_n_ratio_atoms_per_graph(molecules, ratio, request):
    augmentation = NodeDrop(ratio=ratio)
    batch, out, kept = checked_atom_removal(augmentation, request.getfixturevalue(molecules))
    assert bool((out.ptr.diff() >= 1).all()), "a graph lost all its atoms"
    assert torch.equal(kept, (~augmentation.dropped_atoms(batch, generator(0))).nonzero().view(-1))


def test_single_atoms_stay_and_empty_graphs_stay_empty():
    mols = Molecules(["[Na+]", "CCO", "O"])
    g = mols.graphs
    # insert an empty graph in the middle and one at the end
    with_empty = GraphArrays(
        x=g.x,
        edge_index=g.edge_index,
        edge_attr=g.edge_attr,
        atom_ptr=np.array([0, 1, 1, 4, 5, 5]),
        edge_ptr=np.array([0, 0, 0, 4, 4, 4]),
    )
    batch = batch_of(with_empty)
    out = NodeDrop(ratio=0.5)(batch, generator(0))
    assert_well_formed(out, batch)
    assert out.ptr.diff().tolist() == [1, 0, 2, 1, 0]


def test_validation():
    for bad in (1.0, -0.5, "0.2"):
        with pytest.raises(ValueError, match="ratio"):
            NodeDrop(ratio=bad)
    assert NodeDrop().to_dict() == {"name": "node_drop", "ratio": 0.2}
