"""Encoder checkpoints: kind, config and preprocessing recorded; older graph checkpoints still load."""

from __future__ import annotations

import json

import pytest
import torch

from molssl.checkpoint import SchemeMismatchError, save_checkpoint
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.nn.pretrained import PreprocessingMismatchError, load_encoder, load_encoder_state, save_encoder

SMALL = {"num_layers": 2, "emb_dim": 16}


class _Source:
    """The two DataSource methods save_encoder reads."""

    def __init__(self, scheme):
        self.scheme = scheme

    def describe(self):
        return {"path": "corpus.smi", "molecules": 3}

    def preprocessing(self):
        return {"scheme": self.scheme, "standardize": "largest_fragment"}


def test_the_checkpoint_records_kind_config_and_preprocessing(tmp_path):
    torch.manual_seed(0)
    encoder = GNNEncoder(EncoderConfig(scheme="hu", **SMALL))
    scheme = encoder.config.to_dict()["scheme"]
    save_encoder(encoder, tmp_path / "enc", extra={"method": "test"}, source=_Source(scheme))
    stored = json.loads((tmp_path / "enc" / "config.json").read_text())["config"]
    assert stored["encoder_kind"] == "gnn" and stored["encoder"] == encoder.config.to_dict() and stored["scheme"] == scheme
    assert stored["source"] == {"path": "corpus.smi", "molecules": 3} and stored["preprocessing"]["standardize"] == "largest_fragment"
    loaded = load_encoder(tmp_path / "enc", expected_preprocessing={"scheme": scheme, "standardize": "largest_fragment"})
    assert all(torch.equal(a, b) for a, b in zip(encoder.state_dict().values(), loaded.state_dict().values()))
    with pytest.raises(PreprocessingMismatchError, match="standardize: pretrained with 'largest_fragment', asked for None"):
        load_encoder_state(tmp_path / "enc", expected_preprocessing={"scheme": scheme})
    other = EncoderConfig(scheme="ogb", **SMALL).to_dict()["scheme"]
    with pytest.raises(SchemeMismatchError):
        load_encoder_state(tmp_path / "enc", expected_preprocessing={"scheme": other, "standardize": "largest_fragment"})


def test_a_checkpoint_without_kind_or_preprocessing_loads_as_a_graph_encoder(tmp_path):
    """Checkpoints written before kinds were recorded: {"kind": "encoder", "scheme", "encoder"} only."""
    torch.manual_seed(1)
    encoder = GNNEncoder(EncoderConfig(scheme="hu", **SMALL))
    options = encoder.config.to_dict()
    save_checkpoint(tmp_path / "old", {"kind": "encoder", "scheme": options["scheme"], "encoder": options}, encoder.state_dict())
    loaded = load_encoder(tmp_path / "old", expected_preprocessing={"scheme": options["scheme"]})
    assert isinstance(loaded, GNNEncoder) and loaded.config == encoder.config
    assert all(torch.equal(a, b) for a, b in zip(encoder.state_dict().values(), loaded.state_dict().values()))
