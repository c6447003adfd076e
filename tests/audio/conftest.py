"""The embedded FSDD recordings, opened once per test session, and small audio encoders."""

from __future__ import annotations

import pytest
import torch

from molssl.audio.batch import AudioBatch
from molssl.audio.data import AudioSource, open_audio_source
from molssl.audio.encoder import ByolaCNNConfig
from molssl.vision.vit import ViTConfig

#: BYOL-A's encoder at width 8, 32-d
TINY_CNN = ByolaCNNConfig(width=8, dim=32)
#: a one-block ViT on 16x16 patches of the 64x64 spectrograms (16 patches, 32-d tokens)
TINY_VIT = ViTConfig(image_size=64, patch_size=16, in_channels=1, dim=32, depth=1, heads=2)


@pytest.fixture(scope="session")
def fsdd() -> AudioSource:
    """The 3,000 embedded recordings, labelled by digit."""
    return open_audio_source(None)


@pytest.fixture
def clips(fsdd) -> AudioBatch:
    """Twelve recordings of different digits, speakers and lengths."""
    return fsdd.batch(torch.arange(0, 3000, 250))


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
