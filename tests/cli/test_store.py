"""``molssl store verify`` finds a flipped byte; ``molssl store clean`` removes leftovers of killed builds."""

from __future__ import annotations

import os
import time

from molssl.cli.main import main
from molssl.data.store_build import build_store
from tests.conftest import MOLECULENET


def test_verify_passes_an_intact_store_and_names_a_flipped_byte(tmp_path, capsys):
    store = build_store(MOLECULENET / "freesolv.csv", cache_dir=tmp_path)
    assert main(["store", "verify", str(store.path)]) == 0
    assert f"ok {store.path}: 642 molecules, 9 files" in capsys.readouterr().out

    edge_attr = store.path / "edge_attr.npy"
    data = bytearray(edge_attr.read_bytes())
    data[-5] ^= 0x04  # one bond's feature, past the header: opening the store cannot see it
    edge_attr.write_bytes(bytes(data))
    assert main(["store", "verify", str(store.path), str(store.path)]) == 1
    err = capsys.readouterr().err
    assert err.count("DAMAGED") == 2 and f"{store.path}: edge_attr.npy: sha256" in err and "rebuild it" in err


def test_verify_of_a_folder_that_is_no_store(tmp_path, capsys):
    assert main(["store", "verify", str(tmp_path)]) == 1
    assert "meta.json: missing" in capsys.readouterr().err


def test_clean_removes_old_leftovers_only(tmp_path, capsys):
    store = build_store(MOLECULENET / "freesolv.csv", cache_dir=tmp_path)
    old = tmp_path / f".{store.path.name}.tmp-abcd1234"
    old.mkdir()
    (old / "x.npy").write_bytes(b"\0" * 100)
    then = time.time() - 3 * 24 * 3600
    os.utime(old, (then, then))
    recent = tmp_path / f".{store.path.name}.tmp-efgh5678"
    recent.mkdir()
    assert main(["store", "clean", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"removed {old}" in out and "removed 1 leftover(s)" in out
    assert not old.exists() and recent.is_dir() and store.path.is_dir()
