"""Zoo tests: the released pretrain-gnns files embedded in datasets/, real molecules, and a private cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import molssl
from molssl.graph.batch import to_batch
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from tests.conftest import ROOT, moleculenet_smiles

RELEASED = ROOT / "datasets" / "pretrain-gnns"
#: the nine chemistry files of snap-stanford/pretrain-gnns chem/model_architecture/, with the reference gnn_type
ARCHITECTURE_FILES = [
    (f"{arch}_{strategy}.pth", arch)
    for arch in ("gcn", "graphsage", "gat")
    for strategy in ("contextpred", "supervised", "supervised_contextpred")
]
#: molssl's conv name of each reference gnn_type
MOLSSL_ARCH = {"gcn": "gcn", "graphsage": "sage", "gat": "gat", "gin": "gin"}
# stereo bonds (bond direction), chiral centres, a salt, a single atom, a metal complex, a wildcard
AWKWARD = ["F/C=C/F", "C[C@H](N)O", "CC(=O)[O-].[Na+]", "[Na+]", "Cl[Pt](Cl)([NH3])[NH3]", "*c1ccccc1"]


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch) -> Path:
    """Point the zoo's cache at a temporary directory: tests never write to the user's home."""
    home = tmp_path_factory.mktemp("molssl_home")
    monkeypatch.setenv("MOLSSL_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("user_home")))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return home


@pytest.fixture(scope="session")
def molecules():
    """A batch of real molecules (BBBP) and awkward ones, featurized with the ``hu`` scheme."""
    smiles = moleculenet_smiles("bbbp", 5) + AWKWARD
    return to_batch(molssl.featurize_many(smiles, scheme="hu", on_error="raise").graphs)


def _legacy_gin_state(encoder: GNNEncoder) -> dict[str, torch.Tensor]:
    """A molssl Hu-form GIN's weights under the reference's names (chem/model.py ``GNN`` with gnn_type gin)."""
    s = encoder.state_dict()
    out = {"x_embedding1.weight": s["atom_embedding.embeddings.0.weight"],
           "x_embedding2.weight": s["atom_embedding.embeddings.1.weight"]}  # fmt: skip
    for i in range(encoder.config.num_layers):
        for j in (0, 2):
            for p in ("weight", "bias"):
                out[f"gnns.{i}.mlp.{j}.{p}"] = s[f"convs.{i}.mlp.{j}.{p}"]
        out[f"gnns.{i}.edge_embedding1.weight"] = s[f"convs.{i}.bond_embedding.embeddings.0.weight"]
        out[f"gnns.{i}.edge_embedding2.weight"] = s[f"convs.{i}.bond_embedding.embeddings.1.weight"]
        for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            out[f"batch_norms.{i}.{p}"] = s[f"batch_norms.{i}.{p}"]
    return out


@pytest.fixture
def legacy_gin_file(tmp_path):
    """A GIN file laid out as the released chem/model_gin/*.pth (legacy torch pickle of a plain state dict)."""
    torch.manual_seed(0)
    encoder = GNNEncoder(EncoderConfig(scheme="hu", conv="gin", num_layers=3, emb_dim=24))
    with torch.no_grad():
        for m in encoder.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_()
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
    state = _legacy_gin_state(encoder)
    path = tmp_path / "supervised_contextpred.pth"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return path, state
