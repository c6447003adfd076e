"""Audit keys: the cheap shortcuts give what the direct RDKit calls give, and lazy InChIKeys miss no repeat."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, rdBase

from molssl.audit.keys import fill_inchikeys, molecule_keys
from molssl.audit.run import audit_keys
from molssl.data.corpus import read_smiles_file

DATA = Path(__file__).resolve().parents[2] / "datasets"

AWKWARD = [
    "[Na+].CC(=O)[O-]", "CC(=O)O", "CC(=O)[O-]", "C[NH3+]", "CN", "[2H]C([2H])([2H])O", "CO", "C[C@H](N)C(=O)O",
    "F/C=C/F", "F/C=C\\F", "c1ccccc1", "C1CCCCC1", "Oc1ccccn1", "O=c1cccc[nH]1", "[Cu+2].[O-]S(=O)(=O)[O-]",
    "[Se]1C=CC=C1", "c1cc[se]cc1", "[13CH4]", "C", "[H][H]", "*CC", "Cl.CCN", "[Fe]", "O=[N+]([O-])c1ccccc1",
    "C[N+](C)(C)C", "C#[N+][O-]", "[nH]1cccc1", "B(O)(O)c1ccccc1", "C[Si](C)(C)C", "[O-][Cl+3]([O-])([O-])O",
]  # fmt: skip


def awkward_and(dataset: str) -> list[str]:
    return AWKWARD + read_smiles_file(DATA / "moleculenet" / f"{dataset}.csv").smiles


def test_statistics_and_stereo_free_smiles_match_rdkit_directly() -> None:
    """Charges, elements and fragments read from the SMILES text equal a loop over RDKit's atoms."""
    smiles = awkward_and("clintox")
    keys = molecule_keys(smiles)
    with rdBase.BlockLogs():
        for row, s in enumerate(smiles):
            mol = Chem.MolFromSmiles(s)
            if mol is None:
                assert keys.reason[row]
                continue
            atoms = list(mol.GetAtoms())
            assert keys.elements[row] == ",".join(sorted({a.GetSymbol() for a in atoms})), s
            assert keys.charged_atoms[row] == sum(1 for a in atoms if a.GetFormalCharge()), s
            assert keys.net_charge[row] == sum(a.GetFormalCharge() for a in atoms), s
            assert keys.fragments[row] == len(Chem.GetMolFrags(mol)), s
            assert keys.flat[row] == Chem.MolToSmiles(mol, isomericSmiles=False), s
            assert keys.canonical[row] == Chem.MolToSmiles(mol), s
    assert keys.elements[smiles.index("[Cu+2].[O-]S(=O)(=O)[O-]")] == "Cu,O,S"


def test_graph_hash_ignores_bond_orders_hydrogens_and_charges_only() -> None:
    keys = molecule_keys(["CC(=O)O", "CC(=O)[O-]", "CC(O)=O", "Oc1ccccn1", "O=c1cccc[nH]1", "c1ccccc1", "C1CCCCC1",
                          "CC(=O)N", "CC(=O)C", "c1ccncc1", "CCC(=O)O"])  # fmt: skip
    h = keys.graph_hash.tolist()
    assert h[0] == h[1] == h[2] and h[3] == h[4] and h[5] == h[6]  # acid/anion, tautomers, benzene/cyclohexane
    assert len({h[0], h[3], h[5], h[7], h[8], h[9], h[10]}) == 7  # an element or a bond differs


def _eager_lazy(smiles: list[str]):
    eager = molecule_keys(smiles)
    lazy = molecule_keys(smiles, all_inchikeys=False)
    return eager, lazy, fill_inchikeys(lazy)


def test_lazy_inchikeys_compute_every_key_that_repeats() -> None:
    """Tautomers, protonation states and salts among real molecules: whatever InChIKey (or first block) two
    rows share, both rows have it after ``fill_inchikeys``; rows left without one have a unique key."""
    moses = read_smiles_file(DATA / "moses" / "moses_50k.smi.gz").smiles[:400]
    smiles = AWKWARD + ["OC(=O)c1ccccc1", "[O-]C(=O)c1ccccc1", "CC(=O)NCCCOc1cccc(CN2CCCCC2)c1",
                        "CC(O)=NCCCOc1cccc(CN2CCCCC2)c1", "[Na+].[O-]C(=O)c1ccccc1"] + moses  # fmt: skip
    eager, lazy, filled = _eager_lazy(smiles)
    assert lazy.inchikey_done.sum() < eager.valid.sum() / 4  # most rows skipped the InChIKey
    for column, at_least in (("inchikey", 4), ("skeleton", 12)):  # tautomers; also protonation, stereo, isotopes
        counts = Counter(v for v in getattr(eager, column).tolist() if v)
        repeated = np.array([bool(v) and counts[v] > 1 for v in getattr(eager, column).tolist()])
        assert repeated.sum() >= at_least, column
        assert (filled.inchikey_done[repeated]).all(), column
    done = filled.inchikey_done
    assert (filled.inchikey[done] == eager.inchikey[done]).all() and (filled.inchikey[~done] == "").all()
    for name in ("canonical", "flat", "scaffold", "elements", "heavy_atoms", "net_charge", "graph_hash"):
        assert (getattr(filled, name) == getattr(eager, name)).all(), name
    eager_report, lazy_report = audit_keys(smiles, eager), audit_keys(smiles, lazy)
    assert lazy_report.duplicates == eager_report.duplicates
    assert eager_report.duplicates["inchikey"]["duplicate_rows"] > eager_report.duplicates["canonical"]["duplicate_rows"]


def test_lazy_inchikeys_match_a_downstream_tautomer_and_protonated_form(tmp_path) -> None:
    """A corpus row that is a BBBP test molecule only by InChIKey (another tautomer) matches it exactly; its
    protonated form matches it ignoring protonation (the InChIKey's first block)."""
    from molssl.audit.downstream import load_downstream

    bbbp = load_downstream("bbbp")
    test_rows = bbbp.rows_in("test").tolist()
    smiles = read_smiles_file(bbbp.source).smiles
    from rdkit.Chem.MolStandardize import rdMolStandardize

    enumerator = rdMolStandardize.TautomerEnumerator()
    enumerator.SetMaxTautomers(20)
    with rdBase.BlockLogs():
        for row in test_rows:
            mol = Chem.MolFromSmiles(smiles[row])
            key, text = Chem.MolToInchiKey(mol), Chem.MolToSmiles(mol)
            other = next((t for t in enumerator.Enumerate(mol) if Chem.MolToSmiles(t) != text and Chem.MolToInchiKey(t) == key), None)
            if other is not None and "@" not in text:
                break
        tautomer = Chem.MolToSmiles(other)
    moses = read_smiles_file(DATA / "moses" / "moses_50k.smi.gz").smiles[2:200]
    corpus = moses + [tautomer]
    report = audit_keys(corpus, molecule_keys(corpus, all_inchikeys=False), [bbbp])
    found = {(m["row"], m["part"], m["match"]) for m in report.matches}
    assert (len(moses), "test", "exact") in found
    assert report.overlap[0]["parts"]["test"]["exact_smiles"] == 0 and report.overlap[0]["parts"]["test"]["inchikey"] == 1
