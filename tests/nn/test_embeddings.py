"""Atom and bond embeddings: sum of per-column tables sized by the scheme, Xavier init, range errors."""

from __future__ import annotations

import math

import pytest
import torch

import molssl
from molssl.nn import AtomEmbedding, BondEmbedding
from molssl.ops import segment_order


@pytest.mark.parametrize("scheme", ["hu", "ogb"])
def test_embedding_is_the_sum_of_one_table_per_column(scheme, graphs_by_scheme):
    desc = molssl.get_spec(scheme)
    graphs = graphs_by_scheme[scheme]
    x, edge_attr = torch.from_numpy(graphs.x.astype("int64")), torch.from_numpy(graphs.edge_attr.astype("int64"))
    cases = ((AtomEmbedding, desc.atom_vocab, x), (BondEmbedding, desc.bond_vocab, edge_attr))
    for cls, vocab, features in cases:
        emb = cls(vocab, 8)
        assert [e.num_embeddings for e in emb.embeddings] == list(vocab)
        assert sum(p.numel() for p in emb.parameters()) == 8 * sum(vocab)
        expected = sum(emb.embeddings[k].weight[features[:, k]] for k in range(len(vocab)))
        torch.testing.assert_close(emb(features), expected)


def test_hu_tables_have_the_reference_sizes_and_xavier_init():
    atom = AtomEmbedding(molssl.get_spec("hu").atom_vocab, 300)
    bond = BondEmbedding(molssl.get_spec("hu").bond_vocab, 300)
    assert [tuple(e.weight.shape) for e in atom.embeddings] == [(120, 300), (3, 300)]
    assert [tuple(e.weight.shape) for e in bond.embeddings] == [(6, 300), (3, 300)]
    for e in [*atom.embeddings, *bond.embeddings]:
        bound = math.sqrt(6.0 / sum(e.weight.shape))  # Xavier-uniform; nn.Embedding's default is N(0, 1)
        assert e.weight.abs().max() <= bound and e.weight.abs().max() > 0.9 * bound


def test_self_loop_and_mask_tokens_have_rows():
    desc = molssl.get_spec("hu")
    bond = BondEmbedding(desc.bond_vocab, 4)
    tokens = torch.tensor([desc.self_loop_token, desc.bond_mask_token])
    assert bond(tokens).shape == (2, 4)
    atom = AtomEmbedding(desc.atom_vocab, 4)
    assert atom(torch.tensor([desc.atom_mask_token])).shape == (1, 4)


def test_out_of_range_feature_names_column_and_value():
    emb = AtomEmbedding((120, 3), 4)
    with pytest.raises(ValueError, match=r"column 1 has value 3 at row 1, outside its vocabulary \[0, 3\)"):
        emb(torch.tensor([[5, 0], [6, 3]]))
    with pytest.raises(ValueError, match="column 0 has value -1"):
        emb(torch.tensor([[-1, 0]]))
    with pytest.raises(ValueError, match=r"shape \[N, 2\]"):
        emb(torch.zeros(3, 9, dtype=torch.long))  # an ogb batch given to a hu model
    with pytest.raises(ValueError, match="integer"):
        emb(torch.zeros(3, 2))


def test_invalid_construction():
    with pytest.raises(ValueError, match="vocab"):
        AtomEmbedding([], 4)
    with pytest.raises(ValueError, match="vocab"):
        BondEmbedding([6, 0], 4)
    with pytest.raises(ValueError, match="dim"):
        AtomEmbedding([3], 0)


@pytest.mark.parametrize("ordered", [False, True], ids=["cells", "one-hot through the order"])
def test_aggregate_equals_scattering_the_embeddings(ordered):
    """The count-matrix form of the bond sum (GIN, Hu form) against embedding then scattering."""
    torch.manual_seed(0)
    embedding = BondEmbedding([6, 3], 8)
    g = torch.Generator().manual_seed(1)
    features = torch.stack([torch.randint(0, 6, (40,), generator=g), torch.randint(0, 3, (40,), generator=g)], 1)
    index = torch.randint(0, 9, (40,), generator=g) * (torch.arange(40) % 3 != 0)  # many rows to node 0
    index[index == 4] = 5  # node 4 and the trailing nodes 9, 10 receive nothing
    order = segment_order(index, 11) if ordered else None
    out = embedding.aggregate(features, index, 11, order=order)
    expected = torch.zeros(11, 8).index_add_(0, index, embedding(features))
    torch.testing.assert_close(out, expected)
    assert torch.all(out[[4, 9, 10]] == 0)
    (grad,) = torch.autograd.grad(out.square().sum(), embedding.embeddings[0].weight)
    (expected_grad,) = torch.autograd.grad(expected.square().sum(), embedding.embeddings[0].weight)
    torch.testing.assert_close(grad, expected_grad)
