"""Zoo tests: the released pretrain-gnns files embedded in datasets/, real molecules, and a private cache."""

from __future__ import annotations

from pathlib import Path

import pytest

import molssl
from molssl.graph.batch import to_batch
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
