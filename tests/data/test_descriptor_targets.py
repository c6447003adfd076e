"""Descriptor targets of a store: cached beside it, standardized by corpus statistics only, masked where missing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from molssl.chem import descriptors as chem_descriptors
from molssl.chem.descriptors import compute_descriptors
from molssl.data.descriptor_targets import (
    RobustScaler,
    descriptor_cache_dir,
    descriptor_targets,
    raw_descriptors,
    raw_smiles_descriptors,
    smiles_descriptor_targets,
)
from molssl.data.store_build import build_store
from tests.conftest import moleculenet_smiles

NAMES = ("MolWt", "MolLogP", "TPSA", "NumHDonors", "Ipc", "NumRadicalElectrons")


@pytest.fixture
def store(tmp_path):
    smiles = moleculenet_smiles("esol", 120)
    path = tmp_path / "corpus.smi"
    path.write_text("smiles\n" + "\n".join(smiles) + "\n")
    return build_store(path, scheme="hu", cache_dir=tmp_path / "cache")


def test_raw_values_equal_rdkit_and_are_cached_beside_the_store(store, monkeypatch):
    values, meta = raw_descriptors(store, NAMES)
    expected = compute_descriptors(store.all_smiles(), NAMES).values
    np.testing.assert_array_equal(values, expected)
    cache = descriptor_cache_dir(store, NAMES)
    assert cache.parent == store.path.parent and meta["path"] == str(cache)
    assert json.loads((cache / "meta.json").read_text())["names"] == list(NAMES)

    def boom(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(chem_descriptors, "compute_descriptors", boom)
    again, _ = raw_descriptors(store, NAMES)  # from the cache
    np.testing.assert_array_equal(again, values)


def test_a_smiles_list_shares_the_cache_of_a_store_of_the_same_molecules(store, monkeypatch):
    values, _ = raw_descriptors(store, NAMES)

    def boom(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(chem_descriptors, "compute_descriptors", boom)
    smiles = store.all_smiles()
    again, meta = raw_smiles_descriptors(smiles, NAMES, cache_root=store.path.parent)  # a text run of the same corpus
    np.testing.assert_array_equal(again, values)
    assert meta["path"] == str(descriptor_cache_dir(store, NAMES))
    np.testing.assert_array_equal(smiles_descriptor_targets(smiles, NAMES, cache_root=store.path.parent).values,
                                  descriptor_targets(store, NAMES).values)  # fmt: skip
    with pytest.raises(AssertionError, match="recomputed"):  # another list is another key
        raw_smiles_descriptors(smiles[1:], NAMES, cache_root=store.path.parent)


def test_corrupt_cache_is_recomputed(store):
    values, meta = raw_descriptors(store, NAMES)
    cache = descriptor_cache_dir(store, NAMES)
    flipped = values.copy()
    flipped[3, 1] += 1.0
    np.save(cache / "values.npy", flipped)
    again, _ = raw_descriptors(store, NAMES)
    np.testing.assert_array_equal(again, values)


def test_statistics_come_from_the_corpus(store):
    targets = descriptor_targets(store, NAMES)
    raw = compute_descriptors(store.all_smiles(), NAMES).values.astype(np.float64)
    for j, name in enumerate(NAMES):
        col = raw[:, j][np.isfinite(raw[:, j])]
        q1, q2, q3 = np.percentile(col, [25, 50, 75])
        assert targets.scaler.median[j] == pytest.approx(q2)
        if q3 > q1:
            assert targets.scaler.scale[j] == pytest.approx((q3 - q1) / 1.3489795)
    # NumRadicalElectrons is 0 for every ESOL molecule: constant, so masked
    assert "NumRadicalElectrons" in targets.description["constant_masked"]
    assert np.isnan(targets.values[:, NAMES.index("NumRadicalElectrons")]).all()
    live = targets.values[:, :4]
    assert np.nanmax(np.abs(live)) <= 6.0
    assert abs(float(np.nanmedian(live[:, 0]))) < 1e-6


def test_scaler_clips_keeps_nan_and_round_trips():
    values = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, np.nan], [1000.0, 5.0]], dtype=np.float32)
    scaler = RobustScaler.fit(values, clip=3.0)
    out = scaler.transform(values)
    assert out[3, 0] == 3.0  # clipped
    assert np.isnan(out[2, 1]) and np.isnan(out[:, 1]).all()  # NaN stays, constant column masked
    assert RobustScaler.from_dict(json.loads(json.dumps(scaler.to_dict()))) == scaler


def test_an_interrupted_computation_resumes_from_its_saved_blocks(tmp_path, monkeypatch):
    """A killed first computation keeps its finished blocks; the rerun computes only the rest, same result."""
    smiles = moleculenet_smiles("bbbp", 50)
    smiles[23] = "C1CC"  # unclosed ring: a failed molecule in the third block, reported at its corpus index
    expected = compute_descriptors(smiles, NAMES)
    real = chem_descriptors.compute_descriptors
    calls: list[int] = []
    killed: list[bool] = []

    def counting(chunk, *args, **kwargs):
        calls.append(len(chunk))
        if len(calls) == 4 and not killed:
            killed.append(True)
            raise KeyboardInterrupt  # the first job is killed in its fourth block
        return real(chunk, *args, **kwargs)

    monkeypatch.setattr(chem_descriptors, "compute_descriptors", counting)
    root = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        raw_smiles_descriptors(smiles, NAMES, cache_root=root, block_size=8)
    (parts,) = root.glob("descriptors-*.parts")
    assert len(list(parts.glob("block-*.npz"))) == 3
    calls.clear()
    seen: list[int] = []
    values, meta = raw_smiles_descriptors(smiles, NAMES, cache_root=root, block_size=8, progress=seen.append)
    assert calls == [8, 8, 8, 2]  # blocks 4-7 only (50 = 6 x 8 + 2)
    assert seen[-1] == 50 and seen == sorted(seen)
    np.testing.assert_array_equal(values, expected.values)
    assert meta["failed"] == [{"index": 23, "smiles": "C1CC", "reason": expected.failed[0][1]}]
    assert meta["summary"] == expected.summary()
    assert not parts.exists()  # cleaned up once the cache is complete


def test_an_unreadable_block_is_recomputed(tmp_path):
    smiles = moleculenet_smiles("bbbp", 20)
    root = tmp_path / "cache"
    expected, _ = raw_smiles_descriptors(smiles, NAMES, cache_root=root / "a", block_size=8)
    from molssl.data.descriptor_targets import _cache_dir, smiles_digest

    parts = _cache_dir(root / "b", smiles_digest(smiles), NAMES)
    parts = parts.with_name(parts.name + ".parts")
    parts.mkdir(parents=True)
    (parts / f"block-{8:012d}.npz").write_bytes(b"truncated")
    values, _ = raw_smiles_descriptors(smiles, NAMES, cache_root=root / "b", block_size=8)
    np.testing.assert_array_equal(values, expected)
