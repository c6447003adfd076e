"""RDKit 2D descriptors for many molecules: equal to RDKit's own, every failure reported."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import Descriptors

from molssl.chem.descriptors import check_descriptor_names, compute_descriptors, descriptor_names
from tests.conftest import AWKWARD, moleculenet_smiles


def rdkit_reference(smiles: str, names: tuple[str, ...]) -> list[float]:
    mol = Chem.MolFromSmiles(smiles)
    table = dict(Descriptors._descList)
    out = []
    for n in names:
        try:
            v = float(table[n](mol))
        except Exception:
            v = math.nan
        out.append(v if math.isfinite(v) and abs(v) <= np.finfo(np.float32).max else math.nan)
    return out


def test_names_are_rdkits_list():
    names = descriptor_names()
    assert names == tuple(n for n, _ in Descriptors._descList)
    assert {"MolWt", "MolLogP", "TPSA", "qed", "NumHDonors"} <= set(names)


def test_values_equal_rdkit_on_real_molecules():
    smiles = moleculenet_smiles("bbbp", 40) + moleculenet_smiles("esol", 20)
    smiles = [s for s in smiles if Chem.MolFromSmiles(s) is not None]
    names = descriptor_names()
    result = compute_descriptors(smiles, names)
    assert result.values.shape == (len(smiles), len(names))
    assert result.values.dtype == np.float32
    expected = np.array([rdkit_reference(s, names) for s in smiles], dtype=np.float32)
    np.testing.assert_array_equal(np.isnan(result.values), np.isnan(expected))
    np.testing.assert_array_equal(result.values[~np.isnan(expected)], expected[~np.isnan(expected)])
    assert not result.failed


def test_every_input_gets_a_row_and_failures_a_reason():
    smiles = ["CCO", "not-a-smiles", "C1CC", "", "c1ccccc1O", "C(C)(C)(C)(C)C"]
    result = compute_descriptors(smiles, ("MolWt", "TPSA"))
    assert result.values.shape == (6, 2)
    failed = dict(result.failed)
    assert sorted(failed) == [1, 2, 3, 5]
    assert "syntax" in failed[1].lower() or "parse" in failed[1].lower()
    assert "valence" in failed[5].lower()
    assert np.isnan(result.values[[1, 2, 3, 5]]).all()
    assert result.values[0, 0] == pytest.approx(46.069, abs=1e-3)
    assert result.summary()["failed_molecules"] == 4


def test_awkward_molecules_never_abort():
    result = compute_descriptors(AWKWARD)
    assert result.values.shape == (len(AWKWARD), len(descriptor_names()))
    parsed = [i for i, s in enumerate(AWKWARD) if Chem.MolFromSmiles(s) is not None]
    assert set(parsed).isdisjoint(i for i, _ in result.failed)


def test_workers_give_the_same_values():
    smiles = moleculenet_smiles("clintox", 60) + ["bad(", "CCO"]
    one = compute_descriptors(smiles, ("MolLogP", "qed", "BertzCT", "Ipc"), chunk_size=16)
    two = compute_descriptors(smiles, ("MolLogP", "qed", "BertzCT", "Ipc"), workers=2, chunk_size=16)
    np.testing.assert_array_equal(one.values, two.values)
    assert one.failed == two.failed


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="NotADescriptor"):
        check_descriptor_names(["MolWt", "NotADescriptor"])
    with pytest.raises(ValueError, match="repeat"):
        check_descriptor_names(["MolWt", "MolWt"])
