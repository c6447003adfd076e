"""Projection and prediction heads: layer structure, shapes, BatchNorm options and plain-data configs."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

from molssl.ssl.heads import ACTIVATIONS, HeadConfig, PredictionHead, ProjectionHead


def kinds(module: nn.Module) -> list[str]:
    return [type(m).__name__ for m in module.mlp]


def test_default_projection_head_is_linear_bn_relu_linear():
    head = ProjectionHead(300, 128, hidden_dim=512)
    assert kinds(head) == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert head.mlp[0].bias is None  # cancelled by the BatchNorm after it
    assert head.mlp[0].weight.shape == (512, 300) and head.mlp[3].weight.shape == (128, 512)
    assert head(torch.randn(4, 300)).shape == (4, 128)


@pytest.mark.parametrize("num_layers", [1, 2, 3, 4])
def test_number_of_linear_layers(num_layers):
    head = ProjectionHead(8, 5, num_layers=num_layers, batch_norm=False, activation="gelu")
    linears = [m for m in head.mlp if isinstance(m, nn.Linear)]
    assert len(linears) == num_layers
    assert all(m.bias is not None for m in linears)
    assert sum(isinstance(m, nn.GELU) for m in head.mlp) == num_layers - 1
    assert not any(isinstance(m, nn.BatchNorm1d) for m in head.mlp)
    assert head(torch.randn(3, 8)).shape == (3, 5)


def test_hidden_dim_defaults_to_in_dim():
    head = ProjectionHead(6, 2, num_layers=3)
    assert [m.out_features for m in head.mlp if isinstance(m, nn.Linear)] == [6, 6, 2]


def test_last_batch_norm_standardizes_the_output():
    head = ProjectionHead(6, 4, last_batch_norm=True).train()
    last = head.mlp[-1]
    assert isinstance(last, nn.BatchNorm1d) and not last.affine
    out = head(torch.randn(64, 6) * 5 + 3)
    assert torch.allclose(out.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(out.var(0, unbiased=False), torch.ones(4), atol=1e-3)


def test_prediction_head_maps_dim_to_dim():
    head = PredictionHead(32, hidden_dim=128)
    assert kinds(head) == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert head(torch.randn(5, 32)).shape == (5, 32)
    assert head.config.in_dim == head.config.out_dim == 32


def test_configs_round_trip_through_json():
    head = ProjectionHead(10, 3, hidden_dim=7, num_layers=3, batch_norm=False, activation="prelu")
    config = HeadConfig.from_dict(json.loads(json.dumps(head.config.to_dict())))
    assert config == head.config
    rebuilt = ProjectionHead.from_config(config)
    assert [type(m) for m in rebuilt.mlp] == [type(m) for m in head.mlp]
    rebuilt.load_state_dict(head.state_dict())
    x = torch.randn(2, 10)
    assert torch.equal(rebuilt(x), head(x))
    predictor = PredictionHead(8, 16)
    assert PredictionHead.from_config(predictor.config).config == predictor.config


def test_config_validation():
    with pytest.raises(ValueError, match="in_dim"):
        HeadConfig(in_dim=0, out_dim=3)
    with pytest.raises(ValueError, match="num_layers"):
        ProjectionHead(4, 3, num_layers=0)
    with pytest.raises(ValueError, match="hidden_dim"):
        ProjectionHead(4, 3, hidden_dim=-2)
    with pytest.raises(ValueError, match="valid activations: " + ", ".join(sorted(ACTIVATIONS))):
        ProjectionHead(4, 3, activation="tanh")
    with pytest.raises(TypeError, match="batch_norm"):
        ProjectionHead(4, 3, batch_norm=1)
    with pytest.raises(ValueError, match="unknown HeadConfig keys"):
        HeadConfig.from_dict({"in_dim": 2, "out_dim": 2, "dropout": 0.1})
    with pytest.raises(ValueError, match="dim -> dim"):
        PredictionHead.from_config(HeadConfig(in_dim=4, out_dim=3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        HeadConfig(in_dim=2, out_dim=2).in_dim = 3
