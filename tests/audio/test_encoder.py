"""BYOL-A's encoder: shapes, batched equals one by one, any length, plain-data config."""

from __future__ import annotations

import pytest
import torch

from molssl.audio.encoder import ByolaCNN, ByolaCNNConfig
from molssl.nn.encoders import build_encoder, config_from_dict, config_to_dict
from tests.audio.conftest import TINY_CNN


def test_batched_equals_one_by_one_and_takes_any_length(clips):
    torch.manual_seed(0)
    encoder = ByolaCNN(TINY_CNN).eval()
    x = clips.normalized()
    batched = encoder(x)
    assert batched.shape == (12, 32)
    single = torch.cat([encoder(x[i : i + 1]) for i in range(12)])
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-5)
    assert encoder(x[:, :, :, :40]).shape == (12, 32)
    frames = encoder.frame_embeddings(x)
    torch.testing.assert_close(batched, frames.amax(1) + frames.mean(1))


def test_config_round_trips_and_is_registered():
    config = config_from_dict({"kind": "byola_cnn", "width": 8, "dim": 32})
    assert config == TINY_CNN and config_to_dict(config)["kind"] == "byola_cnn"
    assert isinstance(build_encoder(config_to_dict(config)), ByolaCNN)
    with pytest.raises(ValueError, match="multiple of 8"):
        ByolaCNNConfig(n_mels=60)
    with pytest.raises(ValueError, match=r"\[B, 1, 64, frames >= 8\]"):
        ByolaCNN(TINY_CNN)(torch.zeros(2, 1, 40, 64))


def test_a_vit_of_another_size_names_the_option_that_fits_spectrograms(clips):
    from molssl.vision.vit import ViT, ViTConfig

    spectrograms = clips.normalized()  # [12, 1, 64, 64]
    with pytest.raises(ValueError, match=r"\[B, 1, 28, 28\] images, got shape \(12, 1, 64, 64\); set its image_size .*image_size=N"):
        ViT(ViTConfig(in_channels=1, dim=32, depth=1, heads=2))(spectrograms)
    assert ViT(ViTConfig(image_size=64, patch_size=16, in_channels=1, dim=32, depth=1, heads=2))(spectrograms).shape == (12, 32)
