"""Supervised pretraining: missing labels are left out of the loss."""

from __future__ import annotations

import torch

from molssl.methods.supervised import SupervisedConfig, SupervisedPretraining
from molssl.tasks.losses import masked_bce_with_logits
from tests.methods.conftest import generator


def test_missing_labels_do_not_count(real_batch, small_encoder):
    torch.manual_seed(0)
    method = SupervisedPretraining(small_encoder, SupervisedConfig(num_tasks=3)).eval()
    y = torch.randint(0, 2, (real_batch.num_graphs, 3)).float()
    y[::2, 1] = float("nan")
    real_batch.y = y
    out = method(real_batch, generator())
    h = method.encoder(real_batch)
    logits = method.head(torch.stack([h[real_batch.batch == g].mean(0) for g in range(real_batch.num_graphs)]))
    observed = ~torch.isnan(y)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[observed], y[observed])
    assert torch.allclose(out.loss, expected, atol=1e-5)
    assert torch.allclose(out.loss, masked_bce_with_logits(logits, y), atol=1e-6)
    out.loss.backward()
    assert int(out.metrics["labels"]) == int(observed.sum())
