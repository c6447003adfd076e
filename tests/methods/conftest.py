"""Real molecules and a small encoder for the method tests."""

from __future__ import annotations

import pytest
import torch

from molssl.chem.featurize import featurize_many
from molssl.data.corpus import read_smiles_file
from molssl.data.embedded import default_corpus
from molssl.graph.batch import to_batch
from molssl.nn.encoder import EncoderConfig


def corpus_smiles(n: int) -> list[str]:
    return read_smiles_file(default_corpus()).smiles[:n]


@pytest.fixture(scope="session")
def moses_graphs():
    """The first 512 molecules of the embedded MOSES sample, featurized with the hu scheme."""
    return featurize_many(corpus_smiles(512), scheme="hu").graphs


@pytest.fixture
def real_batch(moses_graphs):
    return to_batch(moses_graphs.select(torch.arange(32).numpy()))


@pytest.fixture(scope="session")
def small_encoder() -> EncoderConfig:
    return EncoderConfig(scheme="hu", num_layers=2, emb_dim=32)


def generator(seed: int = 0) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g
