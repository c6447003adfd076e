"""Descriptor prediction: masked MSE on the pooled graph; masked targets get no gradient; the combined weight holds."""

from __future__ import annotations

import pytest
import torch

from molssl.methods.attribute_masking import AttributeMasking, AttributeMaskingConfig
from molssl.methods.descriptors import DescriptorConfig, DescriptorPrediction
from tests.methods.conftest import generator


def test_loss_is_masked_mse_of_the_mean_pooled_head(real_batch, small_encoder):
    torch.manual_seed(0)
    method = DescriptorPrediction(small_encoder, DescriptorConfig(num_targets=4)).eval()
    y = torch.randn(real_batch.num_graphs, 4)
    y[::3, 2] = float("nan")
    real_batch.y = y
    out = method(real_batch, generator())
    h = method.encoder(real_batch)
    pooled = torch.stack([h[real_batch.batch == g].mean(0) for g in range(real_batch.num_graphs)])
    pred = method.head(pooled)
    observed = ~torch.isnan(y)
    assert torch.allclose(out.loss, ((pred - torch.nan_to_num(y)) ** 2)[observed].mean(), atol=1e-5)


def test_masked_targets_get_no_gradient(real_batch, small_encoder):
    torch.manual_seed(0)
    method = DescriptorPrediction(small_encoder, DescriptorConfig(num_targets=3)).eval()
    y = torch.randn(real_batch.num_graphs, 3)
    y[:, 1] = float("nan")  # a fully masked descriptor
    real_batch.y = y
    method(real_batch, generator()).loss.backward()
    last = method.head.mlp[-1]
    assert torch.all(last.weight.grad[1] == 0) and last.bias.grad[1] == 0
    assert last.weight.grad[0].abs().sum() > 0


def test_combined_objective_honours_its_weight(real_batch, small_encoder):
    torch.manual_seed(0)
    real_batch.y = torch.randn(real_batch.num_graphs, 2)
    alone = DescriptorPrediction(small_encoder, DescriptorConfig(num_targets=2)).eval()
    combined = DescriptorPrediction(small_encoder, DescriptorConfig(num_targets=2, attr_masking_weight=0.3)).eval()
    combined.load_state_dict(alone.state_dict(), strict=False)
    masking = AttributeMasking(small_encoder, AttributeMaskingConfig()).eval()
    masking.encoder.load_state_dict(alone.encoder.state_dict())
    masking.atom_head.load_state_dict(combined.masking.atom_head.state_dict())
    out = combined(real_batch, generator(5))
    expected = alone(real_batch, generator(5)).loss + 0.3 * masking(real_batch, generator(5)).loss
    assert torch.allclose(out.loss, expected, atol=1e-5)
    # one encoder: its weights appear once, and the masking head trains with it
    keys = list(combined.state_dict())
    assert not any(k.startswith("masking.encoder") for k in keys) and "masking.atom_head.weight" in keys
    out.loss.backward()
    assert combined.masking.atom_head.weight.grad is not None


def test_config_is_validated():
    with pytest.raises(ValueError, match="attr_masking_weight"):
        DescriptorConfig(num_targets=2, attr_masking_weight=-1)
    with pytest.raises(ValueError, match="num_targets"):
        DescriptorConfig(num_targets=3, descriptors=("MolWt",))
