"""The pretrain-gnns converter: the nine released files reproduce the reference function; errors list keys."""

from __future__ import annotations

import hashlib

import pytest
import torch

from molssl.checkpoint import load_checkpoint
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.nn.pretrained import load_encoder
from molssl.zoo.pretrain_gnns import ConversionError, convert_pretrain_gnns, read_pretrain_gnns_state
from tests.zoo.conftest import ARCHITECTURE_FILES, MOLSSL_ARCH, RELEASED
from tests.zoo.pretrain_gnns_reference import reference_node_representations


def _encode(encoder: GNNEncoder, batch, dtype: torch.dtype) -> torch.Tensor:
    encoder = encoder.to(dtype).eval()
    with torch.no_grad():
        return encoder(batch).double()


@pytest.mark.parametrize("file_name, arch", ARCHITECTURE_FILES)
def test_released_file_converts_to_the_reference_function(file_name, arch, molecules, tmp_path):
    path = RELEASED / file_name
    out = convert_pretrain_gnns(path, MOLSSL_ARCH[arch], tmp_path / "encoder")
    encoder = load_encoder(out)
    assert (encoder.config.num_layers, encoder.config.emb_dim, encoder.config.jk) == (5, 300, "last")
    expected = reference_node_representations(read_pretrain_gnns_state(path), arch, molecules.x,
                                              molecules.edge_index, molecules.edge_attr)  # fmt: skip
    scale = float(expected.abs().max())
    torch.testing.assert_close(_encode(encoder, molecules, torch.float64), expected, rtol=1e-9, atol=1e-9 * scale)
    # float32, as the released models ran
    torch.testing.assert_close(_encode(encoder, molecules, torch.float32), expected, rtol=1e-4, atol=1e-5 * scale)


def test_released_gat_needs_the_legacy_softmax(molecules, tmp_path):
    """With a standard softmax the converted GAT computes another function (outputs off by far more than 1)."""
    encoder = load_encoder(convert_pretrain_gnns(RELEASED / "gat_contextpred.pth", "gat", tmp_path / "e"))
    assert encoder.config.conv_options == {"heads": 2, "softmax": "pretrain_gnns_legacy"}
    standard = GNNEncoder(EncoderConfig.from_dict({**encoder.config.to_dict(), "conv_options": {"heads": 2}}))
    standard.load_state_dict(encoder.state_dict())
    gap = (_encode(standard, molecules, torch.float64) - _encode(encoder, molecules, torch.float64)).abs().max()
    assert gap > 10


def test_gin_file_converts_to_the_reference_function(legacy_gin_file, molecules, tmp_path):
    path, state = legacy_gin_file
    encoder = load_encoder(convert_pretrain_gnns(path, "gin", tmp_path / "gin"))
    assert (encoder.config.conv, encoder.config.num_layers, encoder.config.emb_dim) == ("gin", 3, 24)
    expected = reference_node_representations(state, "gin", molecules.x, molecules.edge_index, molecules.edge_attr)
    torch.testing.assert_close(_encode(encoder, molecules, torch.float64), expected, rtol=1e-9, atol=1e-9)


def test_checkpoint_records_the_source_and_the_aggregation_note(tmp_path):
    path = RELEASED / "gcn_contextpred.pth"
    _, _, extra = load_checkpoint(convert_pretrain_gnns(path, "gcn", tmp_path / "e"))
    source = extra["converted_from"]
    assert source["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert source["file"] == "gcn_contextpred.pth" and source["format"] == "pretrain-gnns" and source["arch"] == "gcn"
    assert any("edge_index[0]" in note for note in source["notes"])


def test_aggregating_at_edge_index_0_matters_only_for_direction_dependent_bond_features(molecules, tmp_path):
    """The reference gathers at edge_index[0]; molecules carry the same features in both directions."""
    path = RELEASED / "gcn_supervised.pth"
    encoder = load_encoder(convert_pretrain_gnns(path, "gcn", tmp_path / "e")).double().eval()
    state = read_pretrain_gnns_state(path)
    edge_attr = molecules.edge_attr.clone()
    edge_attr[0, 1] = 1  # one direction of one bond gets another bond direction: no molecule does this
    directed = reference_node_representations(state, "gcn", molecules.x, molecules.edge_index, edge_attr)
    with torch.no_grad():
        ours = encoder(molecules.__class__(x=molecules.x, edge_index=molecules.edge_index, edge_attr=edge_attr))
    assert (ours - directed).abs().max() > 1e-3


def _save_legacy(tmp_path, state) -> str:
    path = tmp_path / "model.pth"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return path


def test_unknown_missing_and_misshapen_keys_are_listed(tmp_path):
    state = read_pretrain_gnns_state(RELEASED / "gcn_contextpred.pth")
    state["gnns.0.extra.weight"] = torch.zeros(3)
    del state["batch_norms.2.running_var"]
    state["gnns.1.linear.weight"] = state["gnns.1.linear.weight"][:, :10]
    with pytest.raises(ConversionError) as info:
        convert_pretrain_gnns(_save_legacy(tmp_path, state), "gcn", tmp_path / "out")
    message = str(info.value)
    assert "model.pth" in message
    assert "gnns.0.extra.weight" in message and "batch_norms.2.running_var" in message
    assert "gnns.1.linear.weight" in message and "[300, 10]" in message and "[300, 300]" in message
    assert not (tmp_path / "out").exists()


def test_a_file_of_another_architecture_is_refused(tmp_path):
    with pytest.raises(ConversionError, match="weight_linear.*|.*missing") as info:
        convert_pretrain_gnns(RELEASED / "gat_contextpred.pth", "gcn", tmp_path / "out")
    assert "gnns.0.weight_linear.weight" in str(info.value)  # unknown to a GCN
    with pytest.raises(ConversionError, match="valid: gat, gcn, gin, sage"):
        convert_pretrain_gnns(RELEASED / "gat_contextpred.pth", "graphconv", tmp_path / "out")


def test_a_fine_tuned_graphpred_file_gets_a_hint(tmp_path):
    state = {f"gnn.{k}": v for k, v in read_pretrain_gnns_state(RELEASED / "gcn_contextpred.pth").items()}
    state["graph_pred_linear.weight"] = torch.zeros(1, 300)
    with pytest.raises(ConversionError, match="GNN_graphpred"):
        convert_pretrain_gnns(_save_legacy(tmp_path, state), "gcn", tmp_path / "out")


class _Payload:
    """An object whose unpickling would need code: never executed by the converter."""


@pytest.mark.parametrize("content", ["not a dict", "code"])
def test_files_that_are_not_plain_state_dicts_are_refused(tmp_path, content):
    path = tmp_path / "model.pth"
    if content == "code":
        torch.save({"x_embedding1.weight": _Payload()}, path, _use_new_zipfile_serialization=False)
    else:
        torch.save([torch.zeros(2)], path, _use_new_zipfile_serialization=False)
    with pytest.raises(ConversionError, match="model.pth"):
        read_pretrain_gnns_state(path)
    (tmp_path / "garbage.pth").write_bytes(b"\x00not a pickle")
    with pytest.raises(ConversionError, match="garbage.pth"):
        read_pretrain_gnns_state(tmp_path / "garbage.pth")
    with pytest.raises(FileNotFoundError, match="absent.pth"):
        read_pretrain_gnns_state(tmp_path / "absent.pth")
