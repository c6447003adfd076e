"""Graph infomax: positives pair atoms with their own molecule's summary, negatives with another's."""

from __future__ import annotations

import torch

from molssl.methods.base import shifted
from molssl.methods.graph_infomax import GraphInfomax
from molssl.ssl.losses import bce_mi_loss
from tests.methods.conftest import generator


def test_shift_never_pairs_a_molecule_with_itself():
    for n in (2, 3, 32):
        idx = shifted(n, 1, torch.device("cpu"))
        assert sorted(idx.tolist()) == list(range(n)) and bool((idx != torch.arange(n)).all())


def test_loss_against_a_per_atom_loop(real_batch, small_encoder):
    torch.manual_seed(0)
    method = GraphInfomax(small_encoder).eval()
    out = method(real_batch, generator())
    h = method.encoder(real_batch)
    b = real_batch.batch
    summaries = torch.stack([torch.sigmoid(h[b == g].mean(0)) for g in range(real_batch.num_graphs)])
    w = method.discriminator.weight
    pos, neg = [], []
    for i in range(h.size(0)):
        g = int(b[i])
        other = (g + 1) % real_batch.num_graphs
        pos.append(h[i] @ w @ summaries[g])
        neg.append(h[i] @ w @ summaries[other])
    expected = bce_mi_loss(torch.stack(pos), torch.stack(neg))
    assert torch.allclose(out.loss, expected, atol=1e-5)
    assert out.embeddings.shape == (real_batch.num_graphs, small_encoder.emb_dim)
