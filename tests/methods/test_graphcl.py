"""GraphCL: two well-formed views that differ, and the reference's loss recomputed graph by graph."""

from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.data import Data

from molssl.methods.graphcl import GraphCL, GraphCLConfig
from tests.methods.conftest import generator


def graph_of(view, i: int) -> Data:
    """Graph ``i`` of a batched view as a standalone ``Data`` (local atom indices)."""
    start, end = int(view.ptr[i]), int(view.ptr[i + 1])
    edges = (view.edge_index[0] >= start) & (view.edge_index[0] < end)
    return Data(x=view.x[start:end], edge_index=view.edge_index[:, edges] - start, edge_attr=view.edge_attr[edges])


def unit(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(unit(a), unit(b)))


def naive_graphcl(z1: list[list[float]], z2: list[list[float]], t: float) -> float:
    """The reference's ``loss_cl``: positive over the other cross-view similarities, one direction."""
    total = 0.0
    for i in range(len(z1)):
        row = [math.exp(cos(z1[i], z2[j]) / t) for j in range(len(z2))]
        total -= math.log(row[i] / (sum(row) - row[i]))
    return total / len(z1)


def naive_nt_xent(z1: list[list[float]], z2: list[list[float]], t: float) -> float:
    z, n = z1 + z2, len(z1)
    total = 0.0
    for a in range(2 * n):
        positive = math.exp(cos(z[a], z[(a + n) % (2 * n)]) / t)
        total -= math.log(positive / sum(math.exp(cos(z[a], z[b]) / t) for b in range(2 * n) if b != a))
    return total / (2 * n)


def test_views_differ_from_each_other_and_from_the_input(real_batch, small_encoder):
    x_before, edges_before = real_batch.x.clone(), real_batch.edge_index.clone()
    v1, v2 = GraphCL(small_encoder).views(real_batch, generator(1))
    sizes = real_batch.ptr.diff()
    kept = sizes - torch.floor(0.2 * sizes.double()).long()  # both drop floor(0.2 n) atoms of each molecule
    for view in (v1, v2):
        assert view.num_graphs == real_batch.num_graphs
        assert torch.equal(view.ptr.diff(), kept)
        assert view.edge_index.max() < view.x.size(0) and view.edge_attr.size(0) == view.edge_index.size(1)
        assert torch.equal(view.batch[view.edge_index[0]], view.batch[view.edge_index[1]])  # no edge across graphs
    assert v1.x.size(0) < real_batch.x.size(0)
    # node dropping keeps any atoms, subgraph a connected part: the two views are different graphs
    assert not torch.equal(v1.edge_index, v2.edge_index)
    assert torch.equal(real_batch.x, x_before) and torch.equal(real_batch.edge_index, edges_before)
    a, b = GraphCL(small_encoder).views(real_batch, generator(1))
    assert torch.equal(a.x, v1.x) and torch.equal(b.edge_index, v2.edge_index)  # same generator, same views


@pytest.mark.parametrize("loss", ["graphcl", "nt_xent"])
def test_loss_against_a_per_graph_loop(real_batch, small_encoder, loss):
    torch.manual_seed(0)
    method = GraphCL(small_encoder, GraphCLConfig(loss=loss)).eval()  # BatchNorm running stats: graphs independent
    out = method(real_batch, generator(2))
    views = method.views(real_batch, generator(2))
    with torch.no_grad():
        z = [
            [method.projection(method.encoder(graph_of(view, i)).mean(0, keepdim=True))[0].tolist()
             for i in range(real_batch.num_graphs)]
            for view in views
        ]  # fmt: skip
    naive = naive_graphcl if loss == "graphcl" else naive_nt_xent
    assert out.loss.item() == pytest.approx(naive(z[0], z[1], 0.1), abs=1e-4)
    assert out.embeddings.shape == out.embeddings2.shape == (real_batch.num_graphs, small_encoder.emb_dim)
    assert 0.0 <= out.metrics["top1_acc"].item() <= 1.0


def test_projection_head_is_the_reference_mlp(small_encoder):
    method = GraphCL(small_encoder)
    layers = list(method.projection.mlp)
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Linear"]
    assert [(m.in_features, m.out_features) for m in layers[::2]] == [(32, 32), (32, 32)]


def test_gradients_reach_the_encoder(real_batch, small_encoder):
    method = GraphCL(small_encoder, GraphCLConfig(aug1="attr_mask", aug2="edge_perturb"))
    method(real_batch, generator(3)).loss.backward()
    grads = [p.grad for p in method.encoder.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_attr_mask_view_uses_the_scheme_token(real_batch, small_encoder):
    v1, _ = GraphCL(small_encoder, GraphCLConfig(aug1="attr_mask", aug2="identity")).views(real_batch, generator())
    masked = (v1.x != real_batch.x).any(dim=1)
    assert masked.any() and bool((v1.x[masked] == torch.tensor([119, 0])).all())


def test_config_is_validated():
    with pytest.raises(ValueError, match="valid augmentations: attr_mask"):
        GraphCLConfig(aug1="dropN")
    with pytest.raises(ValueError, match="aug_ratio2"):
        GraphCLConfig(aug_ratio2=1.0)
    with pytest.raises(ValueError, match="temperature"):
        GraphCLConfig(temperature=0)
    with pytest.raises(ValueError, match="valid losses: graphcl, nt_xent"):
        GraphCLConfig(loss="infonce")
    config = GraphCLConfig(aug1="edge_perturb", projection_dim=16)
    assert GraphCLConfig.from_dict(config.to_dict()) == config
