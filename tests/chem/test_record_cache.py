"""The one-molecule path: per-record feature cache vs the batch path, cache bounds, records it must refuse."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rdkit import Chem, rdBase

import molssl
from molssl.chem.featurize import featurize_many
from molssl.chem.mol_pickle import PICKLE_OPTIONS, plain_atom_record, plain_bond_record
from molssl.chem.record_cache import RecordFeatureCache
from molssl.chem.schemes import get_scheme
from tests.conftest import AWKWARD, moleculenet_smiles


def _mol(smiles: str) -> Chem.Mol | None:
    with rdBase.BlockLogs():
        return Chem.MolFromSmiles(smiles)


def _real_molecules() -> list[str]:
    """A few hundred real molecules: metals, salts, charges and stereo from four MoleculeNet sets."""
    smiles = moleculenet_smiles("bbbp", 150) + moleculenet_smiles("clintox", 150) + moleculenet_smiles("sider", 60)
    smiles += moleculenet_smiles("freesolv", 100)
    return [s for s in smiles if _mol(s) is not None]


def _batch_arrays(smiles: str, scheme: str) -> tuple[np.ndarray, ...]:
    g = featurize_many([smiles], scheme=scheme)[0]
    return g.x.numpy(), g.edge_index.numpy(), g.edge_attr.numpy()


@pytest.mark.parametrize("scheme", ["hu", "ogb"])
def test_cached_features_equal_the_batch_path(scheme):
    cache = RecordFeatureCache(get_scheme(scheme))
    smiles = _real_molecules() + [s for s in AWKWARD if _mol(s) is not None]
    assert len(smiles) >= 400
    hits = 0
    for _ in range(2):  # first pass fills the cache, second reads it
        for s in smiles:
            found = cache.features(_mol(s).ToBinary(PICKLE_OPTIONS))
            if found is None:
                continue
            hits += 1
            for ours, ref in zip(found, _batch_arrays(s, scheme)):
                assert ours.dtype == np.int64 and ours.shape == ref.shape and np.array_equal(ours, ref), s
    # everything but a handful of awkward records (map numbers, dummy labels, quadruple bonds in hu) is served
    assert hits >= 2 * len(smiles) - 30
    assert 0 < len(cache) < 2000


def test_records_outside_the_walk_are_refused_not_guessed():
    cache = RecordFeatureCache(get_scheme("ogb"))
    for smiles in ("[CH3:1]C", "*C", "[Mo]$[Mo]"):  # map number, wildcard; quadruple bond is fine in ogb
        cache.features(_mol(smiles).ToBinary(PICKLE_OPTIONS))
    assert cache.features(_mol("[CH3:1]C").ToBinary(PICKLE_OPTIONS)) is None  # map numbers: batch path
    hu = RecordFeatureCache(get_scheme("hu"))
    assert hu.features(_mol("[Mo]$[Mo]").ToBinary(PICKLE_OPTIONS)) is None  # not representable in hu
    big = Chem.MolFromSmiles("C" * 300)
    assert hu.features(big.ToBinary(PICKLE_OPTIONS)) is None  # int32 atom indices: batch path
    assert hu.features(b"not a pickle" + bytes(40)) is None


def test_plain_record_checks():
    pickle = _mol("[13CH3]C").ToBinary(PICKLE_OPTIONS)
    first = pickle[30:30 + 12]  # C, flags, prop_flags (two one-byte fields and the isotope bit), 2 bytes, isotope
    assert plain_atom_record(first) is True
    assert not plain_atom_record(first[:-1]) and not plain_atom_record(first + b"\x00")
    mapped = _mol("[CH3:1]C").ToBinary(PICKLE_OPTIONS)
    assert not plain_atom_record(mapped[30:30 + 9])  # flags carry the map-number bit
    assert plain_bond_record(b"\x68\x0c") and not plain_bond_record(b"\x68") and not plain_bond_record(b"\x10")


def test_cache_is_bounded_and_stays_correct_when_full():
    cache = RecordFeatureCache(get_scheme("ogb"), max_records=5)
    for s in ("CCO", "c1ccccc1O", "CC(=O)[O-].[Na+]", "C/C=C/Cl"):
        found = cache.features(_mol(s).ToBinary(PICKLE_OPTIONS))
        assert found is None or all(np.array_equal(a, b) for a, b in zip(found, _batch_arrays(s, "ogb")))
    assert len(cache._atom_index) <= 5 and len(cache._bond_index) <= 5


def test_single_featurize_equals_batch_for_every_scheme_field_and_dtype():
    smiles = _real_molecules()[:300] + [s for s in AWKWARD if _mol(s) is not None]
    for scheme in ("hu", "ogb"):
        batch = featurize_many(smiles, scheme=scheme, on_error="skip")
        assert len(batch) >= len(smiles) - 2
        for i, k in enumerate(batch.indices.tolist()):
            for _ in range(2):  # cold and warm cache
                one = molssl.featurize(smiles[k], scheme=scheme)
                ref = batch[i]
                assert sorted(one.keys()) == sorted(list(ref.keys()) + ["smiles"])
                for name in ("x", "edge_index", "edge_attr"):
                    assert getattr(one, name).dtype == torch.long
                    assert torch.equal(getattr(one, name), getattr(ref, name)), (scheme, smiles[k], name)
                assert one.num_nodes == ref.num_nodes and one.smiles == smiles[k]


def test_single_featurize_keeps_the_input_checks():
    with pytest.raises(ValueError, match="whitespace"):
        molssl.featurize("CCO N")
    with pytest.raises(ValueError, match="max_atoms=3"):
        molssl.featurize("CCCCC", max_atoms=3)
    with pytest.raises(ValueError, match="max_smiles_length=4"):
        molssl.featurize("CCCCC", max_smiles_length=4)
    with pytest.raises(ValueError, match="valence"):
        molssl.featurize("C[N](C)(C)(C)C")
    lenient = molssl.featurize("C[N](C)(C)(C)C", sanitize="lenient")
    assert lenient.num_nodes == 6
    assert molssl.featurize("  CCO ").smiles == "  CCO " and molssl.featurize("  CCO ").num_nodes == 3
    with pytest.raises(ValueError, match="sanitize must be one of"):
        molssl.featurize("CCO", sanitize="loose")
    with pytest.raises(ValueError, match="max_atoms must be a positive integer"):
        molssl.featurize("CCO", max_atoms=[3])


def test_short_lists_take_the_one_molecule_path_with_the_same_result(real_smiles):
    from molssl.chem import featurize as featurize_module

    smiles = real_smiles[:10] + ["C1CC(", "", "C[N](C)(C)(C)C", "[CH3:1]C", "  CCO", "[Mo]$[Mo]"]
    assert len(smiles) <= featurize_module.FEW_MOLECULES
    for scheme in ("hu", "ogb"):
        few = featurize_many(smiles, scheme=scheme, on_error="skip", sanitize="lenient")
        chunked = featurize_many(smiles * 2, scheme=scheme, on_error="skip", sanitize="lenient")  # long: chunk path
        n = len(few)
        assert len(chunked) == 2 * n and few.indices.tolist() == chunked.indices[:n].tolist()
        for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
            assert np.array_equal(getattr(few.graphs, name), getattr(chunked.graphs.select(np.arange(n)), name)), name
            assert getattr(few.graphs, name).dtype == getattr(chunked.graphs, name).dtype
        assert few.skipped == chunked.skipped[: len(few.skipped)]
        assert few.lenient == chunked.lenient[: len(few.lenient)] and len(few.lenient) == 1
    with pytest.raises(molssl.FeaturizationError, match="row 10"):
        featurize_many(smiles, scheme="hu")
