"""Edge prediction: sampled negatives are non-bonded pairs of the same molecule, no more than its bonds."""

from __future__ import annotations

import torch

from molssl.chem.featurize import featurize_many
from molssl.graph.batch import to_batch
from molssl.methods.edge_prediction import EdgePrediction, sample_non_edges
from molssl.ssl.losses import bce_mi_loss
from tests.methods.conftest import generator


def test_negatives_are_same_molecule_non_bonds_without_repeats(real_batch):
    neg = sample_non_edges(real_batch.edge_index, real_batch.ptr, generator(0))
    edges = set(map(tuple, real_batch.edge_index.t().tolist()))
    pairs = list(map(tuple, neg.t().tolist()))
    assert pairs and len(pairs) == len(set(pairs))
    assert all(u != v and (u, v) not in edges for u, v in pairs)
    graph = real_batch.batch
    assert torch.equal(graph[neg[0]], graph[neg[1]])
    bonds = torch.bincount(graph[real_batch.edge_index[0, 0::2]], minlength=real_batch.num_graphs)
    per_graph = torch.bincount(graph[neg[0]], minlength=real_batch.num_graphs)
    assert bool((per_graph <= bonds).all())
    # large drug-like molecules have far more non-bonds than bonds: they get one negative per bond
    assert (per_graph == bonds).float().mean() > 0.9


def test_complete_and_single_atom_molecules_get_no_negatives():
    batch = to_batch(featurize_many(["C", "CC", "C1CC1", "CCCCCC"], scheme="hu").graphs)
    neg = sample_non_edges(batch.edge_index, batch.ptr, generator(2))
    graphs = batch.batch[neg[0]].tolist()
    assert set(graphs) <= {3}  # methane, ethane and cyclopropane have no non-bonded pair
    assert len(graphs) == 5 or len(set(map(tuple, neg.t().tolist()))) == len(graphs)


def test_loss_is_bce_of_inner_products(real_batch, small_encoder):
    torch.manual_seed(0)
    method = EdgePrediction(small_encoder).eval()
    out = method(real_batch, generator(7))
    h = method.encoder(real_batch)
    pos = real_batch.edge_index[:, 0::2]
    neg = sample_non_edges(real_batch.edge_index, real_batch.ptr, generator(7))
    expected = bce_mi_loss((h[pos[0]] * h[pos[1]]).sum(-1), (h[neg[0]] * h[neg[1]]).sum(-1))
    assert torch.allclose(out.loss, expected, atol=1e-5)
