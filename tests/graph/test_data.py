"""graph_data: the direct Data construction equals PyG's public constructor."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from molssl.graph import data as graph_data_module
from molssl.graph.data import graph_data


def _arrays():
    x = np.array([[5, 0], [7, 1], [7, 0]], dtype=np.int64)
    edge_index = np.array([[0, 1, 1, 2], [1, 0, 2, 1]], dtype=np.int64)
    edge_attr = np.array([[0, 0], [0, 0], [1, 2], [1, 2]], dtype=np.int64)
    return x, edge_index, edge_attr


def _public(x, edge_index, edge_attr, **attrs):
    data = Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(edge_index), edge_attr=torch.from_numpy(edge_attr), num_nodes=len(x))
    for key, value in attrs.items():
        setattr(data, key, value)
    return data


def test_direct_construction_is_used_and_equals_public_constructor():
    assert graph_data_module._direct_state() is not None  # the installed PyG passes the probe
    ours, ref = graph_data(*_arrays(), smiles="CNN"), _public(*_arrays(), smiles="CNN")
    assert type(ours) is Data and list(ours.keys()) == list(ref.keys())
    for key in ("x", "edge_index", "edge_attr"):
        assert torch.equal(ours[key], ref[key]) and ours[key].dtype == torch.long
    assert ours.num_nodes == 3 and ours.smiles == "CNN"
    assert ours.is_undirected() and ours.has_isolated_nodes() is False
    # it behaves as a Data: mutation, copy, batching with public ones
    ours.y = torch.tensor([1.0])
    assert "y" in ours and "y" not in graph_data(*_arrays())
    clone = ours.clone()
    clone.x[0, 0] = 99
    assert ours.x[0, 0] == 5
    del ours.y
    batch = Batch.from_data_list([ours, ref, graph_data(*_arrays(), smiles="CC")])
    assert batch.num_graphs == 3 and batch.edge_index[:, 4:8].tolist() == [[3, 4, 4, 5], [4, 3, 5, 4]]
    assert batch.smiles[0] == "CNN"


def test_public_constructor_when_the_probe_fails(monkeypatch):
    monkeypatch.setattr(graph_data_module, "_direct_state", lambda: None)
    data = graph_data(*_arrays(), smiles="CNN")
    assert type(data) is Data and data.num_nodes == 3 and data.smiles == "CNN"
    assert torch.equal(data.x, torch.from_numpy(_arrays()[0]))
