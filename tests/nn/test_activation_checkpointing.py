"""Activation checkpointing per encoder layer: same values, gradients, statistics and draws; less kept for backward."""

from __future__ import annotations

import copy
import itertools

import pytest
import torch

from molssl.graph.batch import to_batch
from molssl.methods.context_prediction import ContextPrediction
from molssl.nn import CONVS, EncoderConfig, GNNEncoder, set_activation_checkpointing
from molssl.nn.activation_checkpointing import frozen_batch_norm_statistics

SMALL = {"num_layers": 3, "emb_dim": 16}


def _step(encoder: GNNEncoder, batch, seed: int = 5):
    """One training forward and backward from a fixed RNG state: output, gradients, buffers, next draw."""
    encoder.train()
    torch.manual_seed(seed)
    out = encoder(batch)
    (out.square().mean() + out[:, 0].sum()).backward()
    grads = {n: p.grad.clone() for n, p in encoder.named_parameters()}
    buffers = {n: b.clone() for n, b in encoder.named_buffers()}
    return out.detach(), grads, buffers, torch.rand(4)


CASES = [("hu", conv, vn) for conv, vn in itertools.product(sorted(CONVS), (False, True))] + [("ogb", "gin", True)]


@pytest.mark.parametrize("scheme, conv, virtual_node", CASES)
def test_checkpointed_layers_give_the_same_loss_gradients_and_statistics_with_dropout(scheme, conv, virtual_node, graphs_by_scheme):
    batch = to_batch(graphs_by_scheme[scheme])
    torch.manual_seed(0)
    plain = GNNEncoder(EncoderConfig(scheme=scheme, conv=conv, virtual_node=virtual_node, residual=True, jk="concat",
                                     dropout=0.4, **SMALL))  # fmt: skip
    checkpointed = copy.deepcopy(plain)
    assert set_activation_checkpointing(checkpointed, True) == 1
    out, grads, buffers, after = _step(plain, batch)
    out_c, grads_c, buffers_c, after_c = _step(checkpointed, batch)
    torch.testing.assert_close(out_c, out, rtol=0, atol=0)
    for name in grads:  # the recomputation drops the same units (RNG replayed)
        torch.testing.assert_close(grads_c[name], grads[name], rtol=1.3e-6, atol=1e-6, msg=name)
    # the batch norms (also the one inside OGB's GIN MLP) update their running statistics once, not twice
    assert all(torch.equal(buffers_c[n], buffers[n]) for n in buffers), [n for n in buffers if not torch.equal(buffers_c[n], buffers[n])]
    assert torch.equal(after_c, after)  # the global RNG continues as without checkpointing
    # dropout was on: another seed drops other units
    torch.manual_seed(6)
    assert not torch.equal(checkpointed(batch).detach(), out)


def _saved_bytes(encoder: GNNEncoder, batch) -> int:
    """Bytes of the tensors autograd keeps for backward during one training forward."""
    total = 0

    def pack(tensor):
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    encoder.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        encoder(batch).sum().backward()
    return total


def test_checkpointing_keeps_far_fewer_activations(hu_graphs):
    batch = to_batch(hu_graphs)
    encoder = GNNEncoder(EncoderConfig(scheme="hu", num_layers=4, emb_dim=32, dropout=0.2))
    plain = _saved_bytes(encoder, batch)
    set_activation_checkpointing(encoder, True)
    kept = _saved_bytes(encoder, batch)
    # without: per layer the gathered messages, the MLP's hidden [N, 2D], BN and dropout inputs; with:
    # the atom embedding's lookups only (each layer keeps just its input, stored by the checkpoint itself)
    assert kept < plain / 5, (kept, plain)


def test_no_checkpointing_without_gradients(hu_graphs, monkeypatch):
    import molssl.nn.encoder as encoder_module

    calls = []
    monkeypatch.setattr(encoder_module, "checkpoint_layer", lambda *a, **k: calls.append(1))
    encoder = GNNEncoder(EncoderConfig(scheme="hu", **SMALL))
    set_activation_checkpointing(encoder, True)
    with torch.no_grad():
        encoder(to_batch(hu_graphs))
    assert not calls


def test_frozen_statistics_are_restored_and_untouched(hu_graphs):
    norm = torch.nn.BatchNorm1d(4)
    before = {n: b.clone() for n, b in norm.named_buffers()}
    with frozen_batch_norm_statistics([norm]):
        norm(torch.randn(8, 4))
        assert norm.num_batches_tracked.item() == 1  # a scratch copy was updated
    assert all(torch.equal(b, before[n]) for n, b in norm.named_buffers())


def test_switch_reaches_every_encoder_of_a_method_and_refuses_a_model_without_one():
    method = ContextPrediction(EncoderConfig(scheme="hu", **SMALL))
    assert set_activation_checkpointing(method, True) == 2
    assert method.encoder.activation_checkpointing and method.context_encoder.activation_checkpointing
    assert set_activation_checkpointing(method, False) == 2 and not method.context_encoder.activation_checkpointing
    with pytest.raises(ValueError, match="no GNNEncoder"):
        set_activation_checkpointing(torch.nn.Linear(2, 2), True)
    assert set_activation_checkpointing(torch.nn.Linear(2, 2), False) == 0
