"""sanitize="lenient": molecules current RDKit rejects for valence only are kept, flagged with the reason."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

import molssl
from molssl.chem.errors import FeaturizationError
from molssl.chem.mol_tables import read_tables_reference

# Hypervalent main-group and metal atoms, written as the older literature (and RDKit before 2024.09) had them.
HYPERVALENT = {
    # tris(8-hydroxyquinolinato)aluminium (Alq3), rdkit/rdkit#8191: rejected since Al lost valence 6
    "c7cc8O[Al]14(Oc2cccc3cccn->1c23)(Oc5cccc6cccn->4c56)<-n9cccc(c7)c89": ("Al, 6", 34),
    # aluminium oxalate as PubChem/MoleculeNet-era files wrote it (rdkit/rdkit#7397)
    "O=C1O[Al]23(OC1=O)(OC(=O)C(=O)O2)OC(=O)C(=O)O3": ("Al, 6", 19),
    "F[Si](F)(F)(F)(F)F": ("Si, 6", 7),
    "FCl(F)F": ("Cl, 3", 4),  # chlorine trifluoride, rdkit/rdkit#6795
}


@pytest.mark.parametrize("smiles", sorted(HYPERVALENT))
def test_strict_rejects_and_lenient_keeps_with_the_reason(smiles):
    where, atoms = HYPERVALENT[smiles]
    with pytest.raises(FeaturizationError, match="valence"):
        molssl.featurize(smiles)
    assert molssl.featurize(smiles, sanitize="lenient").num_nodes == atoms
    result = molssl.featurize_many(["CCO", smiles, "CCN"], sanitize="lenient")
    assert result.indices.tolist() == [0, 1, 2] and not result.skipped
    assert [(r.index, r.smiles) for r in result.lenient] == [(1, smiles)]
    assert f"Explicit valence for atom # " in result.lenient[0].reason and where in result.lenient[0].reason
    assert "lenient" in result.lenient_report() and "row 1" in result.lenient_report()
    strict = molssl.featurize_many(["CCO", smiles, "CCN"], on_error="skip")
    assert strict.indices.tolist() == [0, 2] and not strict.lenient


def test_lenient_graph_matches_rdkit_partial_sanitization():
    smiles = "c7cc8O[Al]14(Oc2cccc3cccn->1c23)(Oc5cccc6cccn->4c56)<-n9cccc(c7)c89"
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    mol.UpdatePropertyCache(strict=False)
    Chem.SanitizeMol(mol, Chem.SanitizeFlags.SANITIZE_ALL ^ Chem.SanitizeFlags.SANITIZE_PROPERTIES)
    ref = read_tables_reference([mol])
    g = molssl.featurize(smiles, scheme="ogb", sanitize="lenient")
    assert g.x[:, 0].tolist() == (ref.atoms["atomic_num"] - 1).tolist()
    assert int((g.x[:, 0] == 12).sum()) == 1  # one aluminium
    assert g.edge_index.shape[1] == 2 * len(ref.bonds["begin"])


@pytest.mark.parametrize("smiles, reason", [("c1cccc1", "kekulize"), ("C1CC(", "syntax error"), ("CCO N", "whitespace")])
def test_lenient_does_not_rescue_other_failures(smiles, reason):
    with pytest.raises(FeaturizationError, match=reason):
        molssl.featurize(smiles, sanitize="lenient")


def test_lenient_equals_strict_on_molecules_strict_accepts(real_smiles):
    smiles = real_smiles[:1500]
    strict = molssl.featurize_many(smiles, on_error="skip")
    lenient = molssl.featurize_many(smiles, on_error="skip", sanitize="lenient")
    assert not lenient.lenient or set(r.index for r in lenient.lenient).isdisjoint(strict.indices.tolist())
    keep = np.isin(lenient.indices, strict.indices)
    assert keep.sum() == len(strict)
    kept = lenient.graphs.select(np.flatnonzero(keep))
    for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
        assert np.array_equal(getattr(kept, name), getattr(strict.graphs, name)), name


def test_lenient_is_deterministic_and_the_same_in_parallel():
    smiles = sorted(HYPERVALENT) * 3 + ["CCO", "c1ccccc1", "C1CC("] * 3
    serial = molssl.featurize_many(smiles, on_error="skip", sanitize="lenient", chunk_size=4)
    again = molssl.featurize_many(smiles, on_error="skip", sanitize="lenient", chunk_size=5)
    parallel = molssl.featurize_many(smiles, on_error="skip", sanitize="lenient", chunk_size=4, workers=2)
    for other in (again, parallel):
        for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
            assert np.array_equal(getattr(serial.graphs, name), getattr(other.graphs, name)), name
        assert serial.indices.tolist() == other.indices.tolist()
        assert serial.lenient == other.lenient and serial.skipped == other.skipped
    assert serial.parse_options["sanitize"] == "lenient"
    assert molssl.featurize_many(["CCO"]).parse_options["sanitize"] == "strict"


def test_lenient_without_the_fast_reader(monkeypatch):
    import molssl.chem.mol_tables as mt

    smiles = sorted(HYPERVALENT) + ["CCO"]
    fast = molssl.featurize_many(smiles, sanitize="lenient")
    monkeypatch.setattr(mt, "installed_version_supported", lambda: False)
    with pytest.warns(RuntimeWarning, match="per-atom accessors"):
        slow = molssl.featurize_many(smiles, sanitize="lenient")
    for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
        assert np.array_equal(getattr(fast.graphs, name), getattr(slow.graphs, name)), name
    assert fast.lenient == slow.lenient
