"""Inputs that used to abort a batch, be silently truncated or take seconds: each one becomes a skip record."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest

import molssl
from molssl.chem.errors import FeaturizationError
from molssl.chem.limits import DEFAULT_MAX_ATOMS, DEFAULT_MAX_SMILES_LENGTH

# Each of these raised out of featurize_many(on_error="skip") and so aborted the whole batch (issue 11).
ABORTING = {
    "log cut inside a multi-byte character": "CCO)" + "é" * 20,  # was UnicodeDecodeError
    "lone surrogate": "C\udc80",  # was UnicodeEncodeError
    "RDKit pre-condition violation": "C" + "(C)" * 896,  # was RuntimeError from DetectChemistryProblems
}

# RDKit stops at whitespace or a trailing non-ASCII character and drops the rest without an error.
TRUNCATED = {
    "CCO N": "whitespace",
    "CCO\nCCN": "whitespace",
    "CC\tO": "whitespace",
    "Cé": "non-ASCII",
    "CCO€€": "non-ASCII",
    "C\x00CC": "control character",
    "CC\x7fC": "control character",
}

fork_only = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="the monkeypatch reaches workers only when they fork"
)


def _partition(result, n: int) -> list[int]:
    return sorted(result.indices.tolist() + [s.index for s in result.skipped]) == list(range(n))


@pytest.mark.parametrize("what", sorted(ABORTING))
@pytest.mark.parametrize("workers", [1, 2])
def test_one_bad_input_does_not_abort_a_skip_batch(what, workers):
    bad = ABORTING[what]
    smiles = ["CCO", bad, "c1ccccc1", bad, "CCN"]
    result = molssl.featurize_many(smiles, on_error="skip", workers=workers, chunk_size=2)
    assert result.indices.tolist() == [0, 2, 4]
    assert [s.index for s in result.skipped] == [1, 3]
    assert all(s.reason and s.smiles == bad for s in result.skipped)
    with pytest.raises(FeaturizationError) as info:
        molssl.featurize(bad)
    assert info.value.reason == result.skipped[0].reason


def test_error_messages_shorten_very_long_smiles():
    with pytest.raises(FeaturizationError) as info:
        molssl.featurize("C" * 50_000)
    assert len(str(info.value)) < 400 and "50000 characters" in str(info.value)
    assert info.value.smiles == "C" * 50_000


def test_reasons_say_what_is_wrong():
    reasons = {k: molssl.featurize_many([v], on_error="skip").skipped[0].reason for k, v in ABORTING.items()}
    assert "non-ASCII character 'é'" in reasons["log cut inside a multi-byte character"]
    assert "'\\udc80'" in reasons["lone surrogate"]
    assert "Pre-condition Violation" in reasons["RDKit pre-condition violation"]


@pytest.mark.parametrize("smiles, reason", sorted(TRUNCATED.items()))
def test_a_smiles_is_consumed_whole_or_rejected(smiles, reason):
    with pytest.raises(FeaturizationError, match=reason):
        molssl.featurize(smiles)
    result = molssl.featurize_many(["CCO", smiles], on_error="skip", workers=1)
    assert result.indices.tolist() == [0] and reason in result.skipped[0].reason


def test_whitespace_reason_points_to_the_smi_convention():
    with pytest.raises(FeaturizationError, match=r"position 3.*name") as info:
        molssl.featurize("CCO ethanol")
    assert "'CCO ethanol'" in str(info.value)


@pytest.mark.parametrize("padded", [" CCO", "CCO ", "\tCCO\r\n", "\nCCO\n"])
def test_surrounding_whitespace_is_stripped(padded):
    ref = molssl.featurize("CCO")
    g = molssl.featurize(padded)
    assert g.num_nodes == 3 and (g.x == ref.x).all() and (g.edge_attr == ref.edge_attr).all()


def test_defaults_keep_every_real_molecule(real_smiles):
    assert DEFAULT_MAX_ATOMS >= 1000 and DEFAULT_MAX_SMILES_LENGTH >= 5000
    result = molssl.featurize_many(real_smiles + _sider_largest(), on_error="skip")
    assert not any("max_" in s.reason for s in result.skipped)


def _sider_largest() -> list[str]:
    from tests.conftest import moleculenet_smiles

    sider = moleculenet_smiles("sider")
    return sorted(sider, key=len)[-5:]  # up to 1,340 characters and 492 atoms


def test_smiles_longer_than_the_maximum_is_skipped_before_parsing():
    t = time.perf_counter()
    result = molssl.featurize_many(["CCO", "C" * 100_000, "C" * 30], on_error="skip")
    assert time.perf_counter() - t < 1.0
    assert result.indices.tolist() == [0, 2]
    assert "100000 characters" in result.skipped[0].reason and "max_smiles_length=" in result.skipped[0].reason
    assert molssl.featurize("C" * 30, max_smiles_length=30).num_nodes == 30
    with pytest.raises(FeaturizationError, match="max_smiles_length=29"):
        molssl.featurize("C" * 30, max_smiles_length=29)


def test_more_atoms_than_the_maximum_is_skipped_before_sanitizing():
    ring = "C1" + "C" * 4_998 + "C1"  # RDKit's ring perception takes seconds on it
    t = time.perf_counter()
    with pytest.raises(FeaturizationError, match=r"5000 atoms.*max_atoms="):
        molssl.featurize(ring)
    assert time.perf_counter() - t < 1.0
    n = DEFAULT_MAX_ATOMS
    assert molssl.featurize("C" * n).num_nodes == n
    with pytest.raises(FeaturizationError, match=f"{n + 1} atoms"):
        molssl.featurize("C" * (n + 1))
    # atoms as written: explicit hydrogens count
    with pytest.raises(FeaturizationError, match="4 atoms"):
        molssl.featurize("[H]C([H])[H]", max_atoms=3)
    assert molssl.featurize("[CH3:1][CH3:2]", max_atoms=2).num_nodes == 2


def test_limits_can_be_disabled():
    g = molssl.featurize("C" * 3000, max_atoms=None, max_smiles_length=None)
    assert g.num_nodes == 3000
    result = molssl.featurize_many(["C" * 3000, "CCO"], max_atoms=None, max_smiles_length=None)
    assert result.indices.tolist() == [0, 1]


@pytest.mark.parametrize("kwargs", [{"max_atoms": 0}, {"max_smiles_length": -1}, {"max_atoms": 2.5},
                                    {"max_smiles_length": "100"}, {"sanitize": "loose"}])  # fmt: skip
def test_invalid_options_are_rejected(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        molssl.featurize_many(["CCO"], **kwargs)


def test_rdkit_raising_for_one_input_is_a_skip_record(monkeypatch):
    from rdkit import Chem

    real = Chem.MolFromSmiles

    def flaky(smiles, *args, **kwargs):
        if smiles == "CCCl":
            raise RuntimeError("Invariant Violation\n\tsomething RDKit did not expect")
        return real(smiles, *args, **kwargs)

    monkeypatch.setattr(Chem, "MolFromSmiles", flaky)
    result = molssl.featurize_many(["CCO", "CCCl", "CCN"], on_error="skip")
    assert result.indices.tolist() == [0, 2]
    assert "RuntimeError" in result.skipped[0].reason and "Invariant Violation" in result.skipped[0].reason


@fork_only
@pytest.mark.parametrize("workers", [1, 2])
def test_an_exception_inside_a_chunk_keeps_the_rest_of_the_batch(monkeypatch, workers):
    import molssl.chem.featurize as featurize_module

    real = featurize_module.read_tables_for_smiles

    def breaks_on_marker(smiles, *args, **kwargs):
        if "C[Se]C" in smiles:
            raise MemoryError("simulated failure inside the chunk")
        return real(smiles, *args, **kwargs)

    monkeypatch.setattr(featurize_module, "read_tables_for_smiles", breaks_on_marker)
    smiles = ["CCO", "CCN", "C[Se]C", "c1ccccc1"] * 17  # longer than FEW_MOLECULES: the chunk path
    assert len(smiles) > featurize_module.FEW_MOLECULES
    result = molssl.featurize_many(smiles, on_error="skip", workers=workers, chunk_size=4)
    assert result.indices.tolist() == [i for i in range(len(smiles)) if i % 4 != 2]
    assert [s.index for s in result.skipped] == list(range(2, len(smiles), 4))
    assert all("MemoryError: simulated failure" in s.reason for s in result.skipped)
    expected = molssl.featurize_many([s for s in smiles if s != "C[Se]C"])
    assert np.array_equal(result.graphs.x, expected.graphs.x)
    assert np.array_equal(result.graphs.edge_index, expected.graphs.edge_index)
    with pytest.raises(FeaturizationError, match="row 2.*MemoryError"):
        molssl.featurize_many(smiles, workers=workers, chunk_size=4)
