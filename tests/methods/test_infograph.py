"""InfoGraph: the JSD local-global loss recomputed atom by atom, the discriminators, and the batch rules."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.chem.featurize import featurize_many
from molssl.graph.batch import to_batch
from molssl.methods.infograph import InfoGraph, InfoGraphConfig, ShortcutFF
from tests.methods.conftest import generator


def softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@pytest.mark.parametrize("readout", ["sum", "mean"])
def test_loss_against_a_per_atom_loop(real_batch, small_encoder, readout):
    torch.manual_seed(0)
    method = InfoGraph(small_encoder, InfoGraphConfig(readout=readout)).eval()
    out = method(real_batch, generator())
    with torch.no_grad():
        h = method.encoder(real_batch)
        b = real_batch.batch
        pool = (lambda rows: rows.sum(0)) if readout == "sum" else (lambda rows: rows.mean(0))
        graphs = torch.stack([pool(h[b == g]) for g in range(real_batch.num_graphs)])
        local = method.local_discriminator(h).tolist()
        global_ = method.global_discriminator(graphs).tolist()
    log2 = math.log(2.0)
    positive, negative = [], []
    for i, row in enumerate(local):
        for g, summary in enumerate(global_):
            score = sum(x * y for x, y in zip(row, summary))
            (positive if g == int(b[i]) else negative).append(score)
    assert len(negative) == len(local) * (real_batch.num_graphs - 1)
    expected_positive = sum(log2 - softplus(-s) for s in positive) / len(positive)
    expected_negative = sum(softplus(-s) + s - log2 for s in negative) / len(negative)
    expected = expected_negative - expected_positive
    assert out.loss.item() == pytest.approx(expected, rel=1e-4, abs=1e-4)
    assert torch.allclose(out.embeddings, graphs, atol=1e-4)


def test_shortcut_ff_is_three_relu_layers_plus_a_linear_shortcut():
    torch.manual_seed(0)
    ff = ShortcutFF(8)
    x = torch.randn(5, 8)
    expected = x
    for layer in ff.block[::2]:
        expected = torch.relu(layer(expected))
    assert torch.allclose(ff(x), expected + ff.shortcut(x))
    assert all(not m.bias.detach().any() for m in ff.modules() if isinstance(m, torch.nn.Linear))


def test_gradients_reach_encoder_and_both_discriminators(real_batch, small_encoder):
    method = InfoGraph(small_encoder)
    out = method(real_batch, generator())
    out.loss.backward()
    for module in (method.encoder, method.local_discriminator, method.global_discriminator):
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
    assert 0.0 <= out.metrics["acc"].item() <= 1.0


def test_a_single_molecule_has_no_negatives(small_encoder):
    batch = to_batch(featurize_many(["CCO"], scheme="hu").graphs)
    with pytest.raises(ValueError, match="two or more"):
        InfoGraph(small_encoder)(batch, generator())


def test_jk_concat_encoder_is_accepted(real_batch):
    from molssl.nn.encoder import EncoderConfig

    method = InfoGraph(EncoderConfig(scheme="hu", num_layers=2, emb_dim=8, jk="concat"))
    assert method.local_discriminator.shortcut.in_features == 24
    assert torch.isfinite(method(real_batch, generator()).loss)


def test_config_is_validated():
    with pytest.raises(ValueError, match="valid readouts: sum, mean, max"):
        InfoGraphConfig(readout="attention")
    assert InfoGraphConfig.from_dict({"readout": "max"}).readout == "max"
