"""molssl.files: atomic JSON and directory writes (old or new content after any failure), hashing, json_safe."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from molssl.files import (
    file_sha256, json_safe, json_sha256, remove_aside, staged_directory, staged_file, write_json_atomic, write_text_atomic,
)
from molssl.process_owner import current_umask


def test_file_sha256_matches_hashlib_across_chunk_boundaries(tmp_path):
    data = os.urandom((1 << 20) + 17)  # one byte past a whole chunk and then some
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_json_sha256_is_canonical_and_refuses_nan():
    assert json_sha256({"b": 1, "a": [1, "é"]}) == json_sha256({"a": [1, "é"], "b": 1})
    assert json_sha256({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()
    with pytest.raises(ValueError):
        json_sha256({"a": math.nan})


def test_json_safe_reads_back_from_json_as_it_went_in():
    value = {1: (np.float32(0.5), np.int64(3), np.bool_(True)), "p": Path("/x/y"), "n": [math.nan, -math.inf, torch.tensor(2.0)]}
    safe = json_safe(value)
    assert safe == {"1": [0.5, 3, True], "p": "/x/y", "n": [None, None, 2.0]}
    assert type(safe["1"][1]) is int and type(safe["1"][2]) is bool
    assert json.loads(json.dumps(safe, allow_nan=False)) == safe


def test_write_json_atomic_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "record.json"
    write_json_atomic(path, {"a": 1}, sort_keys=True)
    assert json.loads(path.read_text()) == {"a": 1} and path.read_text().endswith("\n")
    with pytest.raises(ValueError):
        write_json_atomic(path, {"a": math.nan})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": {1, 2}})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no temporary file left


def test_write_text_atomic_replaces_with_the_umask_modes(tmp_path):
    path = tmp_path / "table.md"
    write_text_atomic(path, "old")
    write_text_atomic(path, "é new\n")
    assert path.read_text(encoding="utf-8") == "é new\n" and [p.name for p in tmp_path.iterdir()] == ["table.md"]
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~current_umask()  # not mkstemp's 0600


def test_staged_file_lends_a_sibling_with_the_suffix_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "curve.png"
    with staged_file(path, suffix=".png") as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png" and tmp.name.startswith(".curve.png.") and tmp.exists()
        tmp.write_bytes(b"old")
    assert path.read_bytes() == b"old"
    with pytest.raises(RuntimeError), staged_file(path) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the writer failed")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["curve.png"]
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~current_umask()


def test_staged_directory_creates_replaces_and_cleans_up(tmp_path):
    target = tmp_path / "sub" / "out"
    with staged_directory(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".out.tmp-")
        (tmp / "a.txt").write_text("one")
    assert (target / "a.txt").read_text() == "one"
    assert os.stat(target).st_mode & 0o777 == 0o777 & ~current_umask()  # not mkdtemp's 0700
    with pytest.raises(RuntimeError, match="boom"):
        with staged_directory(target) as tmp:
            (tmp / "b.txt").write_text("two")
            raise RuntimeError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]  # the old copy is intact
    with staged_directory(target) as tmp:
        (tmp / "b.txt").write_text("two")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in target.parent.iterdir()] == ["out"]  # nothing staged or set aside is left


def test_staged_directory_without_replace_refuses_an_existing_target(tmp_path):
    target = tmp_path / "store"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(FileExistsError, match="already exists"):
        with staged_directory(target, replace=False) as tmp:
            (tmp / "new").write_text("y")
    assert [p.name for p in tmp_path.iterdir()] == ["store"] and (target / "keep").exists()


def test_staged_directory_puts_the_old_copy_back_when_the_final_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "ckpt"
    target.mkdir()
    (target / "old").write_text("x")
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name.startswith(".ckpt.tmp-"):
            raise OSError("disk vanished")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="disk vanished"):
        with staged_directory(target) as tmp:
            (tmp / "new").write_text("y")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"] and [p.name for p in target.iterdir()] == ["old"]


def test_a_kill_between_the_renames_leaves_both_complete_copies(tmp_path, monkeypatch):
    target = tmp_path / "ckpt"
    target.mkdir()
    real_rename, moved = os.rename, []

    def rename(src, dst):
        if moved:
            raise KeyboardInterrupt("SIGKILL")
        real_rename(src, dst)
        moved.append(dst)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: None)  # a killed process cleans nothing
    with pytest.raises(KeyboardInterrupt):
        with staged_directory(target) as tmp:
            (tmp / "new").write_text("y")
    monkeypatch.undo()
    assert sorted(p.name[:9] for p in tmp_path.iterdir()) == [".ckpt.old", ".ckpt.tmp"]


def test_remove_aside_removes_files_folders_and_links(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    (tmp_path / "f").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "d")
    for name in ("link", "d", "f"):
        remove_aside(tmp_path / name)
    assert list(tmp_path.iterdir()) == []
