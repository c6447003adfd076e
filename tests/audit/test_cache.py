"""Audit keys kept by the corpus's digest: read back unchanged, ignored when damaged, and a repeated audit uses them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from molssl.audit import audit
from molssl.audit.cache import keys_path, load_keys, save_keys
from molssl.audit.keys import molecule_keys

SMILES = ["CCO", "c1ccccc1O", "C1CC", "[Na+].CC(=O)[O-]", "C[C@H](N)C(=O)O", "CCO", "OC(=O)c1ccccc1", "[2H]OC"]


def test_keys_round_trip_and_a_damaged_file_reads_as_none(tmp_path) -> None:
    keys = molecule_keys(SMILES, all_inchikeys=False)
    path = save_keys(keys, keys_path(tmp_path, "ab" * 32, "smiles"))
    back = load_keys(path)
    for name in ("reason", "canonical", "flat", "inchikey", "skeleton", "scaffold", "elements", "heavy_atoms",
                 "net_charge", "graph_hash", "inchikey_done"):  # fmt: skip
        assert getattr(back, name).tolist() == getattr(keys, name).tolist(), name
    assert back.reason[2] and "ring" in back.reason[2]  # the invalid row's reason survives
    path.write_bytes(path.read_bytes()[:200])
    assert load_keys(path) is None
    assert load_keys(tmp_path / "absent.npz") is None


def test_a_repeated_audit_reads_the_keys_and_reports_the_same(tmp_path) -> None:
    corpus = tmp_path / "corpus.smi"
    corpus.write_text("SMILES\n" + "\n".join(SMILES) + "\n")
    first = audit(corpus, ["esol"], cache_dir=tmp_path / "cache")
    second = audit(corpus, ["esol"], cache_dir=tmp_path / "cache")
    assert not first.timings["keys_from_cache"] and second.timings["keys_from_cache"]
    assert second.timings["inchikeys_computed_now"] == 0  # the filled InChIKeys were kept too
    assert {**first.to_dict(), "timings": None} == {**second.to_dict(), "timings": None}
    assert len(list((tmp_path / "cache").glob("keys-*-all-*.npz"))) == 1  # ESOL's keys, kept apart
    corpus.write_text("SMILES\n" + "\n".join(SMILES[:-1]) + "\n")  # another file: another digest
    third = audit(corpus, cache_dir=tmp_path / "cache")
    assert not third.timings["keys_from_cache"] and third.rows == len(SMILES) - 1
    assert np.array_equal(third.keys.canonical, first.keys.canonical[:-1])
