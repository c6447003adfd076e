"""A small real corpus and fast training options for the loop tests."""

from __future__ import annotations

import pytest

from molssl.data.corpus import read_smiles_file
from molssl.data.embedded import default_corpus
from molssl.data.store_build import build_store
from molssl.pretrain import TrainConfig

#: a 2 x 32 GIN keeps each step a few milliseconds
SMALL_ENCODER = {"num_layers": 2, "emb_dim": 32}


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory):
    """The first 400 molecules of the embedded MOSES sample as a SMILES file."""
    path = tmp_path_factory.mktemp("corpus") / "moses_400.smi"
    path.write_text("smiles\n" + "\n".join(read_smiles_file(default_corpus()).smiles[:400]) + "\n")
    return path


@pytest.fixture(scope="session")
def store(corpus_file, tmp_path_factory):
    return build_store(corpus_file, scheme="hu", cache_dir=tmp_path_factory.mktemp("stores"))


def fast(**overrides) -> TrainConfig:
    options = {"steps": 20, "batch_size": 32, "log_every": 5, "checkpoint_every": 10, "progress": False, "device": "cpu"}
    return TrainConfig(**{**options, **overrides})
