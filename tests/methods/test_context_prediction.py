"""Context prediction: the substructure encoder is the pretrained one; negatives are other molecules' contexts."""

from __future__ import annotations

import torch

from molssl.graph.context import extract_context_pair
from molssl.methods.context_prediction import ContextPrediction, ContextPredictionConfig
from molssl.ops import scatter
from molssl.ssl.losses import bce_mi_loss
from tests.methods.conftest import generator


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
