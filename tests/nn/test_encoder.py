"""GNNEncoder: the reference GIN's size, equivariance, batched == one by one, training, JK, config."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest
import torch

import molssl
from molssl.graph.batch import to_batch
from molssl.nn import CONVS, JK_MODES, READOUTS, EncoderConfig, GNNEncoder, get_readout
from molssl.nn.dropout import dropout
from molssl.nn.encoders import encoder_kind
from tests.nn.conftest import permute_nodes

SMALL = {"num_layers": 3, "emb_dim": 16}


def warmed_up(config: EncoderConfig, batch) -> GNNEncoder:
    """An encoder in eval mode whose BatchNorm statistics are not the identity."""
    torch.manual_seed(0)
    encoder = GNNEncoder(config)
    with torch.no_grad():
        encoder.train()
        for _ in range(3):
            encoder(batch)
    return encoder.eval()


def test_default_gin_has_the_parameter_count_of_pretrain_gnns():
    encoder = GNNEncoder(EncoderConfig(scheme="hu"))
    assert (encoder.config.conv, encoder.config.num_layers, encoder.config.emb_dim, encoder.config.jk) == (
        "gin", 5, 300, "last",
    )  # fmt: skip
    # pretrain-gnns chem/model.py GNN(num_layer=5, emb_dim=300, gnn_type="gin"), counted by hand:
    atom_embeddings = 120 * 300 + 3 * 300  # x_embedding1, x_embedding2
    per_layer = (
        (300 * 600 + 600)  # mlp Linear(300, 600)
        + (600 * 300 + 300)  # mlp Linear(600, 300)
        + (6 * 300 + 3 * 300)  # edge_embedding1, edge_embedding2
        + (300 + 300)  # BatchNorm1d(300) weight and bias
    )
    reference = atom_embeddings + 5 * per_layer
    assert reference == 1_857_900
    assert sum(p.numel() for p in encoder.parameters()) == reference
    assert encoder.out_dim == 300


@pytest.mark.parametrize("conv, virtual_node", list(itertools.product(sorted(CONVS), [False, True])))
def test_encoder_is_node_permutation_equivariant(conv, virtual_node, hu_graphs):
    batch = to_batch(hu_graphs)
    encoder = warmed_up(EncoderConfig(scheme="hu", conv=conv, virtual_node=virtual_node, jk="concat", **SMALL), batch)
    permuted, perm = permute_nodes(batch)
    with torch.no_grad():
        torch.testing.assert_close(encoder(permuted), encoder(batch)[perm], rtol=1e-4, atol=1e-5)


BATCHED_CASES = [(c, v, "hu") for c in sorted(CONVS) for v in (False, True)]
BATCHED_CASES += [("gin", True, "ogb"), ("gcn", False, "ogb")]


@pytest.mark.parametrize("conv, virtual_node, scheme", BATCHED_CASES)
def test_batched_equals_one_by_one(conv, virtual_node, scheme, graphs_by_scheme):
    graphs = graphs_by_scheme[scheme]
    batch = to_batch(graphs)
    config = EncoderConfig(scheme=scheme, conv=conv, virtual_node=virtual_node, residual=virtual_node, **SMALL)
    encoder = warmed_up(config, batch)
    with torch.no_grad():
        together = encoder(batch)
        alone = torch.cat([encoder(to_batch(graphs.select([i]))) for i in range(len(graphs))])
        data = encoder(graphs.graph(3))  # a single ``Data`` (no ``batch`` vector)
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)
    start = int(graphs.atom_ptr[3])
    torch.testing.assert_close(data, together[start : start + data.size(0)], rtol=1e-4, atol=1e-5)


def train_step(config: EncoderConfig, readout_name: str, batch) -> None:
    torch.manual_seed(0)
    encoder = GNNEncoder(config)
    readout = get_readout(readout_name)(encoder.out_dim)
    head = torch.nn.Linear(readout.out_dim(encoder.out_dim), 1)
    modules = torch.nn.ModuleList([encoder, readout, head]).train()
    before = {n: p.detach().clone() for n, p in modules.named_parameters()}
    optimizer = torch.optim.Adam(modules.parameters(), lr=1e-2)
    target = torch.randn(batch.num_graphs, 1, generator=torch.Generator().manual_seed(1))
    loss = torch.nn.functional.mse_loss(head(readout(encoder(batch), batch.batch, batch.num_graphs)), target)
    assert torch.isfinite(loss)
    loss.backward()
    assert encoder.atom_embedding.embeddings[0].weight.grad.abs().sum() > 0  # gradients reach the input
    no_grad = [n for n, p in modules.named_parameters() if p.grad is None]
    assert not no_grad
    optimizer.step()
    unchanged = [n for n, p in modules.named_parameters() if torch.equal(p, before[n])]
    # the attention gate's bias shifts every score of a graph alike, which a softmax ignores: its
    # gradient is 0 up to rounding, so whether Adam moves it depends on the rounding
    assert not [n for n in unchanged if not (readout_name == "attention" and n == "1.gate.bias")]


@pytest.mark.parametrize("conv, readout", list(itertools.product(sorted(CONVS), sorted(READOUTS))))
def test_every_encoder_and_readout_trains_a_step(conv, readout, hu_graphs):
    train_step(EncoderConfig(scheme="hu", conv=conv, dropout=0.5, **SMALL), readout, to_batch(hu_graphs))


@pytest.mark.parametrize("conv", sorted(CONVS))
def test_ogb_and_virtual_node_encoders_train_a_step(conv, ogb_graphs):
    config = EncoderConfig(scheme="ogb", conv=conv, virtual_node=True, residual=True, jk="sum", **SMALL)
    train_step(config, "mean", to_batch(ogb_graphs))


def test_jk_modes(hu_graphs):
    batch = to_batch(hu_graphs)
    outputs = {}
    for jk in JK_MODES:
        encoder = warmed_up(EncoderConfig(scheme="hu", jk=jk, **SMALL), batch)
        with torch.no_grad():
            outputs[jk] = encoder(batch)
        width = 4 * 16 if jk == "concat" else 16
        assert encoder.out_dim == width and outputs[jk].shape == (batch.num_nodes, width)
    # same seed, same weights: every mode combines the same layer states h^0 .. h^3
    states = outputs["concat"].view(batch.num_nodes, 4, 16)
    torch.testing.assert_close(outputs["last"], states[:, -1])
    torch.testing.assert_close(outputs["sum"], states.sum(1))
    torch.testing.assert_close(outputs["max"], states.max(1).values)


def test_config_round_trips_through_json_and_records_the_scheme():
    config = EncoderConfig(scheme="ogb", conv="gat", num_layers=2, emb_dim=8, jk="max", dropout=0.5, virtual_node=True)
    assert config.scheme == molssl.get_spec("ogb")
    data = json.loads(json.dumps(config.to_dict()))
    assert EncoderConfig.from_dict(data) == config
    assert GNNEncoder(config).scheme.name == "ogb"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.conv = "gin"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"conv": "gine"}, "valid convs: gat, gcn, gin, sage"),
        ({"jk": "lstm"}, "valid modes: last, concat, sum, max"),
        ({"num_layers": 0}, "num_layers"),
        ({"emb_dim": 2.5}, "emb_dim"),
        ({"dropout": 1.0}, "dropout"),
        ({"virtual_node": 1}, "virtual_node"),
        ({"scheme": "smiles"}, "valid schemes: hu, ogb"),
        ({"scheme": {"name": "hu"}}, "missing"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EncoderConfig(**{"scheme": "hu", **kwargs})


def test_config_needs_a_scheme_and_rejects_unknown_keys():
    with pytest.raises(TypeError):
        EncoderConfig()
    with pytest.raises(ValueError, match="valid keys: scheme, conv"):
        EncoderConfig.from_dict({"scheme": "hu", "gnn_type": "gin"})


def test_batch_of_another_scheme_is_an_error(hu_graphs):
    encoder = GNNEncoder(EncoderConfig(scheme="ogb", **SMALL))
    with pytest.raises(ValueError, match="scheme this model was built for"):
        encoder(to_batch(hu_graphs))


def test_cpu_encoder_computes_no_edge_order(hu_graphs, monkeypatch):
    """The torch backend (every CPU run) aggregates with index_add: no sort is paid for an order."""
    import molssl.nn.encoder as encoder_module

    monkeypatch.setattr(encoder_module, "segment_order", None)
    config = EncoderConfig(scheme="hu", conv="gat", **SMALL)
    for batch in (to_batch(hu_graphs), to_batch(hu_graphs, edge_order=True)):
        torch.manual_seed(0)
        out = GNNEncoder(config)(batch)
        assert out.shape == (batch.num_nodes, 16) and torch.isfinite(out).all()


def test_unknown_encoder_lists_valid_ones():
    assert encoder_kind("gnn").module_class is GNNEncoder and encoder_kind("gnn").config_class is EncoderConfig
    with pytest.raises(ValueError, match="unknown encoder kind .transformer.; valid encoder kinds: .*gnn"):
        encoder_kind("transformer")


def test_per_layer_dropout_draws_as_one_functional_dropout_per_layer(hu_graphs):
    """The reference loop of the encoder (``molssl.nn.dropout.dropout`` after each layer): same draws, same output."""
    batch = to_batch(hu_graphs)
    torch.manual_seed(0)
    encoder = GNNEncoder(EncoderConfig(scheme="hu", dropout=0.3, **SMALL)).train()
    torch.manual_seed(1)
    out = encoder(batch)
    torch.manual_seed(1)
    h = encoder.atom_embedding(batch.x)
    for layer, (conv, norm) in enumerate(zip(encoder.convs, encoder.batch_norms)):
        h = norm(conv(h, batch.edge_index, batch.edge_attr))
        h = torch.nn.functional.relu(h) if layer < 2 else h
        h = dropout(h, 0.3, training=True)
    assert torch.equal(out, h)
    assert not any(k.startswith("dropouts") for k in encoder.state_dict())  # checkpoints unchanged


def test_a_layer_in_eval_mode_stops_its_own_dropout_only(hu_graphs):
    batch = to_batch(hu_graphs)
    encoder = GNNEncoder(EncoderConfig(scheme="hu", dropout=0.5, jk="concat", **SMALL)).train()
    for layer in range(2):
        encoder.convs[layer].eval(), encoder.batch_norms[layer].eval(), encoder.dropouts[layer].eval()
    with torch.no_grad():
        a, b = (encoder(batch).view(batch.num_nodes, 4, 16) for _ in range(2))
    assert torch.equal(a[:, :3], b[:, :3])  # h^0, h^1, h^2: fixed features
    assert not torch.equal(a[:, 3], b[:, 3])  # the trained layer keeps its dropout
