"""Context prediction: the substructure encoder is the pretrained one; negatives are other molecules' contexts."""

from __future__ import annotations

import torch

import molssl
from molssl.graph.batch import to_batch
from molssl.graph.context import extract_context_pair
from molssl.methods import context_prediction
from molssl.methods.context_prediction import ContextPrediction, ContextPredictionConfig
from molssl.ops import scatter
from molssl.ssl.losses import bce_mi_loss
from tests.methods.conftest import corpus_smiles, generator


def test_loss_against_a_per_molecule_loop(real_batch, small_encoder):
    torch.manual_seed(0)
    method = ContextPrediction(small_encoder, ContextPredictionConfig()).eval()
    assert (method.inner_radius, method.outer_radius) == (1, 4)
    assert method.context_encoder.config.num_layers == 3
    out = method(real_batch, generator(4))
    pair = extract_context_pair(real_batch, 2, 1, 4, generator(4))
    sub_h = method.encoder(pair.substructure)
    ctx_h = method.context_encoder(pair.context)
    kept = [g for g in range(real_batch.num_graphs) if bool(pair.has_context[g])]
    subs, ctxs = [], []
    for g in kept:
        subs.append(sub_h[pair.center[g]])
        anchors = pair.anchor[pair.anchor_batch == g]
        ctxs.append(ctx_h[anchors].mean(0))
    pos = torch.stack([s @ c for s, c in zip(subs, ctxs)])
    neg = torch.stack([subs[i] @ ctxs[(i + 1) % len(kept)] for i in range(len(kept))])
    assert torch.allclose(out.loss, bce_mi_loss(pos, neg), atol=1e-5)
    assert int(out.metrics["with_context"]) == len(kept) > 0


def test_two_negatives_per_substructure(real_batch, small_encoder):
    method = ContextPrediction(small_encoder, ContextPredictionConfig(negatives=2))
    out = method(real_batch, generator(1))
    assert torch.isfinite(out.loss)
    assert scatter  # the method pools anchors through molssl.ops


def test_train_mode_gradients_reach_both_encoders_and_no_molecule_is_its_own_negative(small_encoder, monkeypatch):
    # two single atoms (no context) ahead of real molecules: the kept ones are shifted among themselves
    batch = to_batch(molssl.featurize_many(["[Na+]", "C", *corpus_smiles(12)], scheme="hu").graphs)
    seen = {}

    def capture(positive, negative):
        seen["positive"], seen["negative"] = positive.detach(), negative.detach()
        return bce_mi_loss(positive, negative)

    monkeypatch.setattr(context_prediction, "bce_mi_loss", capture)
    torch.manual_seed(0)
    method = ContextPrediction(small_encoder, ContextPredictionConfig(negatives=2)).train()
    out = method(batch, generator(3))
    kept = int(out.metrics["with_context"])
    assert 0 < kept <= batch.num_graphs - 2  # the two context-less molecules take no part
    positive, negative = seen["positive"], seen["negative"].view(2, kept)
    assert positive.shape == (kept,)
    assert not torch.isclose(negative, positive.expand(2, -1)).any()  # shifts 1 and 2 never pair a molecule with itself
    out.loss.backward()
    for name, net in (("encoder", method.encoder), ("context_encoder", method.context_encoder)):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters()), name
    assert method.encoder.batch_norms[0].training and method.context_encoder.batch_norms[0].training
