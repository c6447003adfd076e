"""Temporary directories' owners and the permissions a finished one gets (the user's umask, not mkdtemp's 0700)."""

from __future__ import annotations

import os
import stat

from molssl.chem.schemes import get_spec
from molssl.data.store_build import build_store
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.nn.pretrained import save_encoder
from molssl.process_owner import current_umask, owner_tag, process_alive, publish_permissions


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_current_umask_is_the_process_umask():
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
    finally:
        os.umask(old)


def test_publish_permissions_follows_the_umask(tmp_path):
    folder = tmp_path / "tmpdir"
    folder.mkdir(mode=0o700)
    (folder / "sub").mkdir(mode=0o700)
    (folder / "sub" / "w.bin").write_bytes(b"x")
    os.chmod(folder / "sub" / "w.bin", 0o600)
    old = os.umask(0o022)
    try:
        publish_permissions(folder)
    finally:
        os.umask(old)
    assert _mode(folder) == 0o755 and _mode(folder / "sub") == 0o755 and _mode(folder / "sub" / "w.bin") == 0o644


def test_saved_checkpoints_and_stores_are_readable_as_the_umask_says(tmp_path):
    old = os.umask(0o002)  # e.g. a group-shared project folder
    try:
        encoder = GNNEncoder(EncoderConfig(scheme=get_spec("hu"), num_layers=1, emb_dim=8))
        save_encoder(encoder, tmp_path / "encoder")
        smi = tmp_path / "m.smi"
        smi.write_text("CCO\nc1ccccc1\n")
        store = build_store(smi, scheme="hu", cache_dir=tmp_path / "stores")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "encoder") == 0o775
    assert {_mode(p) for p in (tmp_path / "encoder").iterdir()} == {0o664}  # config.json and the safetensors file
    assert _mode(store.path) == 0o775 and {_mode(p) for p in store.path.iterdir() if p.is_file()} == {0o664}


def test_owner_tag_names_this_live_process():
    pid, host = owner_tag().split("@")
    assert int(pid) == os.getpid() and host and process_alive(os.getpid())
