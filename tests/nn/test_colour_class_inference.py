"""Inference per Weisfeiler-Leman colour class: the colours against a naive refinement, the embeddings
against the per-atom forward on real and awkward molecules, and where it must step aside."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import molssl
from molssl.graph.batch import to_batch
from molssl.nn import EncoderConfig, GNNEncoder, get_readout
from molssl.nn.colour_class_inference import MIN_ATOMS, colour_classes, embed_by_colour_classes, supports
from molssl.nn.onednn import use_onednn_linears
from tests.conftest import AWKWARD, moleculenet_smiles
from tests.nn.conftest import permute_nodes
from tests.nn.test_encoder import warmed_up

SMALL = {"num_layers": 3, "emb_dim": 16}


def naive_colours(x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray, rounds: int) -> list[list[tuple]]:
    """1-WL refinement written out with tuples: an atom's colour is its whole history as nested tuples."""
    colours = [tuple(row) for row in x.tolist()]
    out = [colours]
    for _ in range(rounds):
        incoming: list[list] = [[] for _ in colours]
        for (s, d), bond in zip(edge_index.T.tolist(), edge_attr.tolist()):
            incoming[d].append((colours[s], tuple(bond)))
        colours = [(colours[i], tuple(sorted(incoming[i]))) for i in range(len(colours))]
        out.append(colours)
    return out


def same_partition(labels: np.ndarray, keys: list) -> bool:
    """Whether two atoms share a label exactly when they share a key."""
    pairs = set(zip(labels.tolist(), keys))
    return len(pairs) == len(set(labels.tolist())) == len(set(keys))


def batch_of(smiles: list[str], scheme: str = "hu", on_error: str = "raise"):
    return to_batch(molssl.featurize_many(smiles, scheme=scheme, on_error=on_error).graphs)


def test_colours_equal_a_naive_refinement_on_real_molecules():
    batch = batch_of(moleculenet_smiles("bbbp", 60) + ["c1ccccc1", "CC(C)(C)C", "[Na+]", "CC(=O)[O-].[Na+]"])
    x, edge_index, edge_attr = batch.x.numpy(), batch.edge_index.numpy(), batch.edge_attr.numpy()
    classes = colour_classes(x, edge_index, edge_attr, rounds=5)
    naive = naive_colours(x, edge_index, edge_attr, rounds=5)
    for labels, first, keys in zip(classes.colours, classes.first, naive):
        assert same_partition(labels, keys)
        assert (labels[first] == np.arange(len(first))).all() and (first == [labels.tolist().index(c) for c in range(len(first))]).all()
    assert classes.counts == sorted(classes.counts)  # refinement never merges classes
    assert classes.counts[-1] < len(x)  # symmetric atoms share colours (benzene's six carbons, tert-butyl's methyls)


def test_benzene_carbons_share_one_colour_and_ethanol_atoms_do_not():
    classes = colour_classes(*(t.numpy() for t in (lambda b: (b.x, b.edge_index, b.edge_attr))(batch_of(["c1ccccc1", "CCO"]))), rounds=3)
    final = classes.colours[-1]
    assert len(set(final[:6].tolist())) == 1 and len(set(final[6:].tolist())) == 3


@pytest.mark.parametrize("readout", ["mean", "sum"])
@pytest.mark.parametrize("onednn", [False, True])
def test_embeddings_equal_the_per_atom_forward(readout, onednn):
    batch = batch_of(moleculenet_smiles("bbbp", 40) + AWKWARD, "hu", on_error="skip")  # what the scheme represents
    assert batch.num_graphs > 90
    encoder = warmed_up(EncoderConfig(scheme="hu", **SMALL), batch)
    if onednn:
        use_onednn_linears(encoder)
    pool = get_readout(readout)(encoder.out_dim).eval()
    with torch.no_grad():
        expected = pool(encoder(batch), batch.batch, batch.num_graphs)
        got = embed_by_colour_classes(encoder, pool, batch)
        shuffled, _ = permute_nodes(batch)
        got_shuffled = embed_by_colour_classes(encoder, pool, shuffled)
    assert got is not None and got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got_shuffled, expected, rtol=1e-5, atol=1e-5)


def test_the_default_gin_on_a_real_batch_within_float_tolerance():
    batch = batch_of(moleculenet_smiles("bbbp", 128), "hu")
    encoder = warmed_up(EncoderConfig(scheme="hu"), batch)
    pool = get_readout("mean")(encoder.out_dim).eval()
    with torch.no_grad():
        expected = pool(encoder(batch), batch.batch, batch.num_graphs)
        got = embed_by_colour_classes(encoder, pool, batch)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_steps_aside_where_it_would_not_compute_the_same_thing():
    batch = batch_of(moleculenet_smiles("bbbp", 8), "hu")
    encoder = warmed_up(EncoderConfig(scheme="hu", **SMALL), batch)
    mean = get_readout("mean")(encoder.out_dim).eval()
    assert supports(encoder, mean)
    with torch.enable_grad():
        assert embed_by_colour_classes(encoder, mean, batch) is None  # training-style call
    with torch.no_grad():
        assert embed_by_colour_classes(encoder, mean, batch) is not None
        small = batch_of(["CCO", "c1ccccc1"])  # below MIN_ATOMS: the per-atom forward is as fast
        assert small.num_nodes < MIN_ATOMS <= batch.num_nodes and embed_by_colour_classes(encoder, mean, small) is None
    assert not supports(encoder, get_readout("max")(encoder.out_dim))
    assert not supports(encoder.train(), mean)
    encoder.eval()
    handle = encoder.batch_norms[0].register_forward_hook(lambda module, args, out: out + 1)  # as PEFT adapters attach
    assert not supports(encoder, mean)
    handle.remove()
    assert supports(encoder, mean)
    for change in ({"conv": "gcn"}, {"virtual_node": True}, {"jk": "concat"}, {"residual": True}):
        other = GNNEncoder(dataclasses.replace(encoder.config, **change)).eval()
        assert not supports(other, mean), change
    assert not supports(GNNEncoder(EncoderConfig(scheme="ogb", **SMALL)).eval(), mean)  # OGB's GIN form
