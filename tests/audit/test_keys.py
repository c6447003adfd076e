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


def _test_tautomer(bbbp) -> str:
    """Canonical SMILES of another tautomer of a BBBP test molecule (no stereo) with the same InChIKey."""
    from rdkit.Chem.MolStandardize import rdMolStandardize

    smiles = read_smiles_file(bbbp.source).smiles
    enumerator = rdMolStandardize.TautomerEnumerator()
    enumerator.SetMaxTautomers(20)
    with rdBase.BlockLogs():
        for row in bbbp.rows_in("test").tolist():
            mol = Chem.MolFromSmiles(smiles[row])
            key, text = Chem.MolToInchiKey(mol), Chem.MolToSmiles(mol)
            other = next((t for t in enumerator.Enumerate(mol) if Chem.MolToSmiles(t) != text and Chem.MolToInchiKey(t) == key), None)
            if other is not None and "@" not in text:
                return Chem.MolToSmiles(other)
    raise AssertionError("no BBBP test molecule has a tautomer with its InChIKey")


def test_lazy_inchikeys_match_a_downstream_tautomer_and_protonated_form(tmp_path) -> None:
    """A corpus row that is a BBBP test molecule only by InChIKey (another tautomer) matches it exactly."""
    from molssl.audit.downstream import load_downstream

    bbbp = load_downstream("bbbp")
    tautomer = _test_tautomer(bbbp)
    moses = read_smiles_file(DATA / "moses" / "moses_50k.smi.gz").smiles[2:200]
    corpus = moses + [tautomer]
    report = audit_keys(corpus, molecule_keys(corpus, all_inchikeys=False), [bbbp])
    found = {(m["row"], m["part"], m["match"]) for m in report.matches}
    assert (len(moses), "test", "exact") in found
    assert report.overlap[0]["parts"]["test"]["exact_smiles"] == 0 and report.overlap[0]["parts"]["test"]["inchikey"] == 1


def test_lazy_and_parallel_audit_reports_equal_the_eager_serial_one() -> None:
    """A planted corpus (tautomer pairs sharing only their InChIKey, protonation states, salts, isotopes, BBBP and
    ESOL molecules as written, respelled and as another tautomer): the report from lazily filled InChIKeys,
    with the downstream sets loaded in two processes, is the report from every InChIKey computed with the sets
    loaded one by one, count for count (only the work counter ``inchikeys_computed`` differs)."""
    from molssl.audit.downstream import load_downstream_sets

    serial = load_downstream_sets(["bbbp", "esol"], workers=1)
    parallel = load_downstream_sets([serial[0], "esol", "freesolv"], workers=2)  # a loaded set is kept as it is
    assert parallel[0] is serial[0] and [ds.name for ds in parallel] == ["bbbp", "esol", "freesolv"]
    assert (parallel[1].part == serial[1].part).all() and (parallel[1].keys.inchikey == serial[1].keys.inchikey).all()
    bbbp_smiles, esol_smiles = (read_smiles_file(ds.source).smiles for ds in serial)
    test = serial[0].rows_in("test").tolist()
    planted = [bbbp_smiles[test[0]], _test_tautomer(serial[0]), Chem.MolToSmiles(Chem.MolFromSmiles(bbbp_smiles[test[1]]), doRandom=True),
               esol_smiles[serial[1].rows_in("test")[0]], esol_smiles[serial[1].rows_in("train")[0]]]  # fmt: skip
    pairs = ["CC(=O)NCCCOc1cccc(CN2CCCCC2)c1", "CC(O)=NCCCOc1cccc(CN2CCCCC2)c1", "OC(=O)c1ccccc1", "[O-]C(=O)c1ccccc1"]
    corpus = read_smiles_file(DATA / "moses" / "moses_50k.smi.gz").smiles[2:300] + AWKWARD + pairs + planted
    eager = audit_keys(corpus, molecule_keys(corpus), serial).to_dict()
    lazy = audit_keys(corpus, molecule_keys(corpus, all_inchikeys=False), parallel[:2]).to_dict()
    computed = eager["statistics"].pop("inchikeys_computed"), lazy["statistics"].pop("inchikeys_computed")
    assert computed[1] < computed[0] / 4
    assert {k: v for k, v in lazy.items() if k != "timings"} == {k: v for k, v in eager.items() if k != "timings"}
    assert eager["duplicates"]["inchikey"]["duplicate_rows"] > eager["duplicates"]["canonical"]["duplicate_rows"]
    tested = {m["row"] - len(corpus) + len(planted) for m in eager["matches"] if m["part"] == "test"}
    assert tested == {0, 1, 2, 3}  # every planted test molecule, the tautomer one included
