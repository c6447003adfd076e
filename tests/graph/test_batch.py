"""to_batch builds what Batch.from_data_list builds, much faster; its optional edge order."""

from __future__ import annotations

import copy
import pickle

import torch
from torch_geometric.data import Batch

import molssl
from molssl.augment.attr_mask import AttrMask
from molssl.augment.edge_perturb import EdgePerturb
from molssl.data.loader import StoreLoader
from molssl.graph.batch import attach_edge_order, drop_edge_order, to_batch
from molssl.graph.subgraph import filter_edges, induced_subgraph
from molssl.ops import SegmentOrder, segment_order


def test_to_batch_equals_from_data_list(real_smiles):
    result = molssl.featurize_many(real_smiles[:300], scheme="ogb", on_error="skip")
    graphs = result.graphs.select(list(range(0, 200, 3)))
    ours = to_batch(graphs, {"y": torch.arange(len(graphs), dtype=torch.float32).view(-1, 1)})
    datas = [graphs.graph(i) for i in range(len(graphs))]
    for i, d in enumerate(datas):
        d.y = torch.tensor([[float(i)]])
    ref = Batch.from_data_list(datas)
    for key in ("x", "edge_index", "edge_attr", "batch", "ptr", "y"):
        assert torch.equal(ours[key], ref[key]), key
    assert ours.num_graphs == ref.num_graphs == len(graphs)
    # PyG's own unbatching works on our batch
    back = ours.to_data_list()
    assert len(back) == len(datas)
    assert all(torch.equal(a.edge_index, b.edge_index) and torch.equal(a.x, b.x) for a, b in zip(back, datas))
    assert torch.equal(ours[5].x, datas[5].x)


def test_trailing_graph_without_edges_is_kept():
    graphs = molssl.featurize_many(["CCO", "[Na+]"], scheme="hu").graphs
    batch = to_batch(graphs)
    assert batch.num_graphs == 2 and batch.batch.tolist() == [0, 0, 0, 1]


# salts, single atoms (leading, middle and trailing atoms without incoming edges) and rings
ORDER_SMILES = ["[Na+]", "CC(=O)[O-].[Na+]", "c1ccccc1O", "O", "C[C@H](N)O", "[Cl-]"]


def test_edge_order_is_the_stable_sort_of_the_targets():
    graphs = molssl.featurize_many(ORDER_SMILES, scheme="hu").graphs
    batch = to_batch(graphs, edge_order=True)
    order = batch._edge_order
    assert isinstance(order, SegmentOrder)
    expected = segment_order(batch.edge_index[1], batch.num_nodes)
    assert torch.equal(order.perm, expected.perm) and torch.equal(order.ptr, expected.ptr)
    assert order.perm.dtype == order.ptr.dtype == torch.long and order.ptr.numel() == batch.num_nodes + 1
    assert order.ptr[-1] == batch.edge_index.size(1) and order.ptr[1] == 0  # atom 0 ([Na+]) has no bonds
    # not one of the batch's tensors: unbatching, moving and the attributes are those of a plain batch
    plain = to_batch(graphs)
    assert getattr(plain, "_edge_order", None) is None
    assert sorted(batch.keys()) == sorted(plain.keys())
    assert [d.num_nodes for d in batch.to_data_list()] == [d.num_nodes for d in plain.to_data_list()]
    assert batch.to("cpu")._edge_order is order


def test_edge_order_survives_copies_and_pickling_but_can_be_dropped():
    batch = to_batch(molssl.featurize_many(ORDER_SMILES, scheme="hu").graphs, edge_order=True)
    order = batch._edge_order
    assert copy.copy(batch)._edge_order is order  # shallow copies share the edges, so the order holds
    unpickled = pickle.loads(pickle.dumps(batch))  # DataLoader workers
    assert torch.equal(unpickled._edge_order.perm, order.perm) and torch.equal(unpickled._edge_order.ptr, order.ptr)
    view = drop_edge_order(copy.copy(batch))
    assert getattr(view, "_edge_order", None) is None and batch._edge_order is order
    from_list = attach_edge_order(Batch.from_data_list(batch.to_data_list()))
    assert torch.equal(from_list._edge_order.perm, order.perm)


def test_batches_with_other_edges_do_not_carry_a_stale_order():
    batch = to_batch(molssl.featurize_many(ORDER_SMILES * 2, scheme="hu").graphs, edge_order=True)
    generator = torch.Generator().manual_seed(0)
    keep = torch.ones(batch.edge_index.size(1), dtype=torch.bool)
    keep[2:4] = False
    node_mask = torch.ones(batch.num_nodes, dtype=torch.bool)
    node_mask[3] = False
    views = {
        "filter_edges": filter_edges(batch, keep)[0],
        "induced_subgraph": induced_subgraph(batch, node_mask)[0],
        "edge_perturb": EdgePerturb(ratio=0.2)(batch, generator),
        "edge_perturb with added bonds": EdgePerturb(ratio=0.2, add_ratio=0.2, add_bond_attr=(0, 0))(batch, generator),
    }
    for name, view in views.items():
        assert getattr(view, "_edge_order", None) is None, name
        assert view.num_graphs == batch.num_graphs and len(view.to_data_list()) == batch.num_graphs, name
    # a view that keeps the edges keeps the order, which is still the order of its edges
    masked = AttrMask.from_scheme("hu", 0.3)(batch, generator)
    assert torch.equal(masked.edge_index, batch.edge_index) and masked._edge_order is batch._edge_order


def test_store_loader_attaches_the_order_when_asked():
    graphs = molssl.featurize_many(ORDER_SMILES, scheme="hu").graphs
    ordered = next(iter(StoreLoader(graphs, batch_size=4, edge_order=True)))
    expected = segment_order(ordered.edge_index[1], ordered.num_nodes)
    assert torch.equal(ordered._edge_order.perm, expected.perm)
    assert getattr(next(iter(StoreLoader(graphs, batch_size=4))), "_edge_order", None) is None
