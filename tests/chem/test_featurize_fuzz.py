"""Fuzzing the featurizer: rows in == rows out, and featurize == featurize_many == featurize_many(workers=2).

Inputs are SMILES-like strings built from SMILES tokens and nasty characters (unicode, lone surrogates,
whitespace, NUL, byte-order marks, very long runs), real MoleculeNet SMILES, and real SMILES with a nasty
token spliced in. The default run is derandomized and bounded (a few seconds); the ``slow`` run explores
far more inputs (``pytest -m slow tests/chem/test_featurize_fuzz.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import molssl
from molssl.chem.errors import FeaturizationError
from tests.conftest import moleculenet_smiles

REAL = sorted({s for name in ("bbbp", "bace", "clintox", "sider", "esol", "freesolv", "lipo") for s in moleculenet_smiles(name)})

SMILES_TOKENS = [
    "C", "c", "N", "n", "O", "o", "S", "s", "P", "F", "Cl", "Br", "I", "B", "b", "*", "[nH]", "[NH4+]", "[O-]",
    "[Na+]", "[Fe+2]", "[C@H]", "[C@@H]", "[2H]", "[Al]", "[Si]", "[13C]", "[se]", "[Pt]", "[H]", "[CH3:1]", "[U]",
    "-", "=", "#", "$", ":", "/", "\\", ".", "->", "<-", "(", ")", "1", "2", "3", "9", "%10", "%99", "@", "+",
]  # fmt: skip
NASTY = [
    " ", "\t", "\n", "\r\n", "\x00", "\x7f", "\x1b", "é", "€", "\udc80", "\ud800", "\ufeff", "\u00a0", "\u2028", "日本",
    "😀", "|", "{", "}", "?", "<", ">", "[", "]", "%", "~", "'", '"', ",", ";", "\\\\",
]  # fmt: skip
RUNS = ["C", "(C)", "c1ccccc1", "C1", "[Fe]", "é", " ", ")", "(", "1", "[", "C(", "=", "\x00"]

tokens = st.lists(st.sampled_from(SMILES_TOKENS + NASTY), max_size=40).map("".join)
runs = st.builds(lambda tok, n: tok * n, st.sampled_from(RUNS), st.integers(1, 1500))
real = st.sampled_from(REAL)
spliced = st.builds(lambda s, i, tok: s[: i % (len(s) + 1)] + tok + s[i % (len(s) + 1) :],
                    real, st.integers(0, 1000), st.sampled_from(NASTY + SMILES_TOKENS))  # fmt: skip
anything = st.text(max_size=30)
one_input = st.one_of(real, real, tokens, spliced, runs, anything, st.sampled_from([None, 3, b"CCO"]))
inputs = st.lists(one_input, min_size=1, max_size=12)
modes = st.sampled_from(["strict", "lenient"])

FAST = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
LONG = settings(FAST, max_examples=3000)


def _graph_equal(a, b) -> bool:
    return all(np.array_equal(getattr(a, k).numpy(), getattr(b, k).numpy()) for k in ("x", "edge_index", "edge_attr"))


def _check_rows_and_single(smiles: list, sanitize: str) -> None:
    result = molssl.featurize_many(smiles, on_error="skip", sanitize=sanitize, chunk_size=5)
    kept = result.indices.tolist()
    skipped = [s.index for s in result.skipped]
    # rows in == rows out: every input is a graph or a skip record with a reason, never both, never neither
    assert sorted(kept + skipped) == list(range(len(smiles)))
    assert kept == sorted(kept) and skipped == sorted(skipped)
    assert all(isinstance(s.reason, str) and s.reason for s in result.skipped)
    assert {r.index for r in result.lenient} <= set(kept)
    assert sanitize == "lenient" or not result.lenient
    # featurize(s) == the corresponding graph of featurize_many, and fails with the same reason
    for k, i in enumerate(kept):
        assert _graph_equal(molssl.featurize(smiles[i], sanitize=sanitize), result[k]), repr(smiles[i])
    for record in result.skipped:
        with pytest.raises(FeaturizationError) as info:
            molssl.featurize(smiles[record.index], sanitize=sanitize)
        assert info.value.reason == record.reason
    # on_error="raise" stops at the first skipped row, with its reason
    if skipped:
        with pytest.raises(FeaturizationError) as info:
            molssl.featurize_many(smiles, sanitize=sanitize)
        assert info.value.row == skipped[0] and info.value.reason == result.skipped[0].reason
    else:
        assert len(molssl.featurize_many(smiles, sanitize=sanitize)) == len(smiles)


def _check_parallel(smiles: list, sanitize: str) -> None:
    serial = molssl.featurize_many(smiles, on_error="skip", sanitize=sanitize, chunk_size=7)
    parallel = molssl.featurize_many(smiles, on_error="skip", sanitize=sanitize, chunk_size=7, workers=2)
    for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
        assert np.array_equal(getattr(serial.graphs, name), getattr(parallel.graphs, name)), name
    assert serial.indices.tolist() == parallel.indices.tolist()
    assert serial.skipped == parallel.skipped and serial.lenient == parallel.lenient


@FAST
@given(smiles=inputs, sanitize=modes)
def test_fuzz_rows_in_equal_rows_out_and_single_equals_batch(smiles, sanitize):
    _check_rows_and_single(smiles, sanitize)


@settings(FAST, max_examples=4)
@given(smiles=st.lists(one_input, min_size=20, max_size=60), sanitize=modes)
def test_fuzz_parallel_equals_serial(smiles, sanitize):
    _check_parallel(smiles, sanitize)


@pytest.mark.slow
@LONG
@given(smiles=inputs, sanitize=modes)
def test_fuzz_long_run(smiles, sanitize):
    _check_rows_and_single(smiles, sanitize)


@pytest.mark.slow
@settings(LONG, max_examples=100)
@given(smiles=st.lists(one_input, min_size=20, max_size=120), sanitize=modes)
def test_fuzz_long_run_parallel(smiles, sanitize):
    _check_parallel(smiles, sanitize)


def test_fuzz_sources_are_real_and_nasty():
    assert len(REAL) > 10_000
    assert any(not c.isascii() for c in "".join(NASTY)) and "\x00" in NASTY and "\udc80" in NASTY
