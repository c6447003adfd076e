"""The molecule store: build, reuse by content and scheme, atomic writes, corrupt stores, skip records."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import time

import numpy as np
import pytest

import molssl
from molssl.data.store import MoleculeStore, StoreError, write_store
from molssl.data.store_build import build_store, store_key
from tests.conftest import moleculenet_smiles


@pytest.fixture()
def corpus_file(tmp_path):
    smiles = moleculenet_smiles("esol", 300)
    smiles[7] = "not_a_smiles"
    smiles[42] = ""
    path = tmp_path / "corpus.smi.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("SMILES\n" + "\n".join(smiles) + "\n")
    return path, smiles


def test_build_reuse_and_contents(corpus_file, tmp_path):
    path, smiles = corpus_file
    cache = tmp_path / "cache"
    store = build_store(path, scheme="ogb", cache_dir=cache)
    assert len(store) == 298
    assert [s.index for s in store.skipped()] == [7, 42]
    assert "syntax error" in store.skipped()[0].reason and store.skipped()[1].reason == "empty SMILES"
    # stored molecules equal direct featurization, and keep their source rows and SMILES
    direct = molssl.featurize_many(smiles, scheme="ogb", on_error="skip")
    for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
        assert np.array_equal(np.asarray(getattr(store.graphs, name)), getattr(direct.graphs, name))
    assert store.rows.tolist() == direct.indices.tolist()
    assert store.smiles(10) == smiles[store.rows[10]]
    assert store.all_smiles() == [smiles[r] for r in store.rows]
    assert isinstance(store.graphs.x, np.memmap)
    assert store.meta["source"]["sha256"] == molssl.files.file_sha256(path)
    assert store.meta["counts"] == {"molecules": 298, "atoms": int(direct.graphs.atom_ptr[-1]), "edges": int(direct.graphs.edge_ptr[-1]), "skipped": 2}

    # second build: same directory, not rebuilt
    mtime = os.path.getmtime(store.path / "meta.json")
    time.sleep(0.01)
    again = build_store(path, scheme="ogb", cache_dir=cache)
    assert again.path == store.path and os.path.getmtime(again.path / "meta.json") == mtime

    # another scheme: another store
    hu = build_store(path, scheme="hu", cache_dir=cache)
    assert hu.path != store.path and hu.graphs.x.shape[1] == 2

    # changed content: another store
    with gzip.open(path, "at") as fh:
        fh.write("CCO\n")
    changed = build_store(path, scheme="ogb", cache_dir=cache)
    assert changed.path != store.path and len(changed) == 299


def test_raise_mode_names_file_and_row(corpus_file, tmp_path):
    path, _ = corpus_file
    with pytest.raises(ValueError, match=r"corpus\.smi\.gz: row 7: .*syntax error"):
        build_store(path, scheme="hu", cache_dir=tmp_path / "cache", on_error="raise")
    assert not any((tmp_path / "cache").glob("*/meta.json"))


def test_incomplete_directory_never_loads(tmp_path):
    graphs = molssl.featurize_many(["CCO", "c1ccccc1"], scheme="hu").graphs
    store = write_store(tmp_path / "s", graphs, ["CCO", "c1ccccc1"], np.array([0, 1]), [], molssl.get_spec("hu"))
    assert len(store) == 2 and store.batch([1, 0]).num_graphs == 2
    # a killed build leaves a temporary directory without meta.json: not a store
    partial = tmp_path / "partial"
    partial.mkdir()
    for f in store.path.iterdir():
        if f.name != "meta.json":
            (partial / f.name).write_bytes(f.read_bytes())
    with pytest.raises(StoreError, match="no meta.json"):
        MoleculeStore(partial)


def test_truncated_array_is_reported(tmp_path):
    graphs = molssl.featurize_many(["CCO", "c1ccccc1"], scheme="hu").graphs
    store = write_store(tmp_path / "s", graphs, ["CCO", "c1ccccc1"], np.array([0, 1]), [], molssl.get_spec("hu"))
    x_file = store.path / "x.npy"
    x_file.write_bytes(x_file.read_bytes()[:-3])
    with pytest.raises(StoreError, match="x.npy"):
        MoleculeStore(store.path)


def test_wrong_format_version_is_reported(tmp_path):
    graphs = molssl.featurize_many(["CCO"], scheme="hu").graphs
    store = write_store(tmp_path / "s", graphs, ["CCO"], np.array([0]), [], molssl.get_spec("hu"))
    meta = json.loads((store.path / "meta.json").read_text())
    meta["format"] = 999
    (store.path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="rebuild"):
        MoleculeStore(store.path)


def test_killed_build_leaves_no_store(tmp_path, monkeypatch):
    graphs = molssl.featurize_many(["CCO"], scheme="hu").graphs

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("molssl.data.store.write_json_atomic", boom)  # die just before meta.json is written
    with pytest.raises(KeyboardInterrupt):
        write_store(tmp_path / "s", graphs, ["CCO"], np.array([0]), [], molssl.get_spec("hu"))
    assert not (tmp_path / "s").exists() and list(tmp_path.iterdir()) == []


def test_store_key_depends_on_content_and_scheme():
    hu, ogb = molssl.get_spec("hu"), molssl.get_spec("ogb")
    assert store_key("a" * 64, hu, "x") != store_key("b" * 64, hu, "x")
    assert store_key("a" * 64, hu, "x") != store_key("a" * 64, ogb, "x")


# --- integrity: every damage is the store's error, named, and build_store rebuilds --------------------

_DATA_FILES = ("x.npy", "edge_index.npy", "edge_attr.npy", "atom_ptr.npy", "edge_ptr.npy", "rows.npy", "smiles_ptr.npy",
               "smiles.bin", "skipped.jsonl")  # fmt: skip


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(keep):
    def damage(path):
        path.write_bytes(path.read_bytes()[: keep(path.stat().st_size)])

    return damage


def _edit_meta(edit):
    def damage(path):
        meta = json.loads(path.read_text())
        edit(meta)
        path.write_text(json.dumps(meta))

    return damage


def _replace_with_directory(path):
    path.unlink()
    path.mkdir()


# damage -> (file it hits, whether a plain open sees it; a flipped byte needs the checksums of verify)
_DAMAGE = {
    **{f"flip {name}": (name, _flip_last_byte, False) for name in ("x.npy", "edge_index.npy", "edge_attr.npy", "rows.npy", "smiles.bin")},
    **{f"half of {name}": (name, _truncate(lambda n: n // 2), True) for name in (*_DATA_FILES, "meta.json")},
    **{f"last byte of {name}": (name, _truncate(lambda n: n - 1), True) for name in _DATA_FILES},
    **{f"emptied {name}": (name, _truncate(lambda n: 0), True) for name in (*_DATA_FILES, "meta.json")},
    **{f"deleted {name}": (name, lambda p: p.unlink(), True) for name in (*_DATA_FILES, "meta.json")},
    "x.npy is a directory": ("x.npy", _replace_with_directory, True),
    "meta.json not JSON": ("meta.json", lambda p: p.write_text("{not json"), True),
    "meta.json not UTF-8": ("meta.json", lambda p: p.write_bytes(b"\xff\xfe{}"), True),
    "meta.json a list": ("meta.json", lambda p: p.write_text("[]"), True),
    "meta.json without counts": ("meta.json", _edit_meta(lambda m: m.pop("counts")), True),
    "meta.json counts not a mapping": ("meta.json", _edit_meta(lambda m: m.__setitem__("counts", "many")), True),
    "meta.json without scheme": ("meta.json", _edit_meta(lambda m: m.pop("scheme")), True),
    "meta.json counts one molecule less": ("meta.json", _edit_meta(lambda m: m["counts"].__setitem__("molecules", 297)), True),
    "meta.json negative skipped": ("meta.json", _edit_meta(lambda m: m["counts"].__setitem__("skipped", -1)), True),
}  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A store built from a real corpus with 2 bad rows, and a pristine copy of its directory."""
    tmp = tmp_path_factory.mktemp("built")
    smiles = moleculenet_smiles("esol", 300)
    smiles[7], smiles[42] = "not_a_smiles", ""
    source = tmp / "corpus.smi.gz"
    with gzip.open(source, "wt") as fh:
        fh.write("SMILES\n" + "\n".join(smiles) + "\n")
    store = build_store(source, scheme="hu", cache_dir=tmp / "cache")
    pristine = tmp / "pristine"
    shutil.copytree(store.path, pristine)
    return source, pristine, store.path.name


@pytest.fixture
def damaged_cache(built, tmp_path):
    """A private cache holding a copy of the built store, to damage."""
    source, pristine, name = built
    cache = tmp_path / "cache"
    shutil.copytree(pristine, cache / name)
    return source, cache, cache / name


def _same_store(a, b):
    for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
        assert np.array_equal(np.asarray(getattr(a.graphs, name)), np.asarray(getattr(b.graphs, name)))
    assert a.all_smiles() == b.all_smiles() and a.skipped() == b.skipped() and np.array_equal(a.rows, b.rows)


@pytest.mark.parametrize("damage", list(_DAMAGE))
def test_damaged_store_raises_the_stores_error_and_build_store_rebuilds(damage, built, damaged_cache):
    from molssl.data.store import StoreCorruptError
    from molssl.data.store_build import StoreRebuildWarning

    source, cache, path = damaged_cache
    file, hurt, seen_at_open = _DAMAGE[damage]
    hurt(path / file)
    with pytest.raises(StoreCorruptError) as info:
        store = MoleculeStore(path)
        assert not seen_at_open, f"{damage}: a plain open must see this damage"
        store.verify()
    error = info.value
    assert error.store == path and error.file == file and error.reason
    assert str(path) in str(error) and file in str(error) and "rebuild" in str(error)
    with pytest.raises(StoreCorruptError, match=re.escape(file)):
        MoleculeStore(path, verify=True)

    with pytest.warns(StoreRebuildWarning, match=rf"{re.escape(file)}.*rebuilding it from {re.escape(str(source))}"):
        rebuilt = build_store(source, scheme="hu", cache_dir=cache)
    assert rebuilt.path == path
    rebuilt.verify()
    _same_store(rebuilt, MoleculeStore(built[1]))
    assert len(rebuilt.skipped()) == rebuilt.meta["counts"]["skipped"] == 2


def test_store_path_that_is_a_file_is_rebuilt(damaged_cache):
    from molssl.data.store import StoreCorruptError
    from molssl.data.store_build import StoreRebuildWarning

    source, cache, path = damaged_cache
    shutil.rmtree(path)
    path.write_text("not a store")
    with pytest.raises(StoreCorruptError, match="not a directory"):
        MoleculeStore(path)
    with pytest.warns(StoreRebuildWarning):
        assert len(build_store(source, scheme="hu", cache_dir=cache)) == 298


def test_verify_reports_what_it_checked(built):
    store = MoleculeStore(built[1], verify=True)
    report = store.verify()
    assert report["files"] == len(_DATA_FILES)
    assert report["bytes"] == sum((built[1] / name).stat().st_size for name in _DATA_FILES)
    assert set(store.meta["files"]) == set(_DATA_FILES)
    assert store.meta["files"]["x.npy"]["sha256"] == molssl.files.file_sha256(built[1] / "x.npy")


def test_missing_directory_is_not_called_corrupt(tmp_path):
    from molssl.data.store import StoreCorruptError

    with pytest.raises(StoreError, match="no molecule store") as info:
        MoleculeStore(tmp_path / "nowhere")
    assert not isinstance(info.value, StoreCorruptError)


# --- leftovers of killed builds ------------------------------------------------------------------------


_KILLED_BUILD = """
import os, signal, sys
import numpy as np
import molssl
from molssl.data import store as store_module

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # killed while writing meta.json, the last file

graphs = molssl.featurize_many(["CCO", "c1ccccc1O"], scheme="hu").graphs
store_module.write_json_atomic = die
store_module.write_store(sys.argv[1], graphs, ["CCO", "c1ccccc1O"], np.array([0, 1]), [], molssl.get_spec("hu"))
"""


def test_killed_build_leftovers_are_removed_and_live_ones_kept(built, tmp_path):
    import subprocess
    import sys

    from molssl.data.store_build import remove_stale_builds

    source, _, name = built
    cache = tmp_path / "cache"
    target = cache / name
    proc = subprocess.run([sys.executable, "-c", _KILLED_BUILD, str(target)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    (leftover,) = [p for p in cache.iterdir() if p.name.startswith(f".{name}.tmp-")]
    assert (leftover / "x.npy").is_file() and not target.exists()
    # a build in progress in this process, and one in another live process: never touched
    live_here = cache / f".{name}.tmp-{os.getpid()}@{_host()}-abc123"
    live_here.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live_there = cache / f".{name}.tmp-{sleeper.pid}@{_host()}-def456"
        live_there.mkdir()
        unrelated = cache / ".descriptors-0123456789abcdef-01234567.tmp-xyz"  # not a store build
        unrelated.mkdir()
        with pytest.warns(UserWarning, match=rf"{re.escape(leftover.name)}.*process {proc_pid(leftover)} is gone"):
            removed = remove_stale_builds(cache)
        assert removed == [leftover] and not leftover.exists()
        assert live_here.is_dir() and live_there.is_dir() and unrelated.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()
    # build_store cleans the cache it builds into, now that the sleeper is gone too
    with pytest.warns(UserWarning, match="is gone"):
        build_store(source, scheme="hu", cache_dir=cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted([name, live_here.name, unrelated.name])


def test_leftover_without_owner_is_removed_only_when_old(built, tmp_path):
    from molssl.data.store_build import remove_stale_builds

    _, _, name = built
    legacy = tmp_path / f".{name}.tmp-k3j4h5g6"  # named as molssl <= 0.1 named them, no owner recorded
    legacy.mkdir()
    assert remove_stale_builds(tmp_path, max_age_s=3600) == [] and legacy.is_dir()
    old = time.time() - 2 * 3600
    os.utime(legacy, (old, old))
    with pytest.warns(UserWarning, match="older than"):
        assert remove_stale_builds(tmp_path, max_age_s=3600) == [legacy]
    assert not legacy.exists()


def _host():

    from molssl.process_owner import this_host

    return this_host()


def proc_pid(leftover):
    return leftover.name.split(".tmp-")[1].split("@")[0]


def test_store_key_and_contents_depend_on_sanitization(tmp_path):
    hypervalent = "F[Si](F)(F)(F)(F)F"
    source = tmp_path / "mixed.smi"
    source.write_text("smiles\nCCO\n" + hypervalent + "\nc1ccccc1\n")
    strict = build_store(source, cache_dir=tmp_path / "cache")
    lenient = build_store(source, cache_dir=tmp_path / "cache", sanitize="lenient")
    assert strict.path != lenient.path
    assert len(strict) == 2 and [r.smiles for r in strict.skipped()] == [hypervalent]
    assert len(lenient) == 3 and not lenient.skipped()
    assert [r["smiles"] for r in lenient.meta["source"]["lenient"]] == [hypervalent]
    assert lenient.meta["source"]["parse"]["sanitize"] == "lenient"
    assert build_store(source, cache_dir=tmp_path / "cache", sanitize="lenient").path == lenient.path  # reused
