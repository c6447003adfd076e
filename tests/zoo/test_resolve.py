"""Resolving zoo names: explicit file, cache, embedded copy, download only on request (file:// URLs here)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil

import pytest
import torch

from molssl.checkpoint import load_checkpoint
from molssl.data.download import ChecksumError
from molssl.nn.pretrained import load_encoder_state
from molssl.zoo import ZOO, get_entry, git_blob_sha1, load_pretrained, pretrained_dir, resolve_pretrained
from molssl.zoo import resolve as resolve_module
from molssl.zoo.pretrain_gnns import convert_pretrain_gnns
from tests.zoo.conftest import RELEASED

GCN = "hu2020/gcn_supervised_contextpred"


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_name_resolves_offline_from_the_embedded_copy_into_the_private_cache(private_home, tmp_path):
    directory = pretrained_dir(GCN)
    assert directory == private_home / "zoo" / "hu2020" / "gcn_supervised_contextpred"
    _, _, extra = load_checkpoint(directory)
    assert extra["zoo"]["name"] == GCN and extra["zoo"]["origin"] == "embedded"
    direct = convert_pretrain_gnns(RELEASED / "gcn_supervised_contextpred.pth", "gcn", tmp_path / "direct")
    ours, theirs = load_encoder_state(directory)[1], load_encoder_state(direct)[1]
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    encoder = load_pretrained(GCN)
    assert encoder.config == get_entry(GCN).encoder_config()


def test_the_cache_is_used_without_converting_again(monkeypatch):
    first = pretrained_dir(GCN)

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again although the cache is current")

    monkeypatch.setattr(resolve_module, "convert_pretrain_gnns", no_conversion)
    assert pretrained_dir(GCN) == first
    assert resolve_pretrained(GCN) == first


def test_a_stale_or_damaged_cache_is_converted_again(caplog):
    directory = pretrained_dir(GCN)
    calls = []
    real = resolve_module.convert_pretrain_gnns
    with pytest.MonkeyPatch.context() as patch:  # not the fixture's: its undo would also drop MOLSSL_HOME
        patch.setattr(resolve_module, "CONVERTER_VERSION", resolve_module.CONVERTER_VERSION + 1)
        patch.setattr(resolve_module, "convert_pretrain_gnns", lambda *a, **k: calls.append(a) or real(*a, **k))
        pretrained_dir(GCN)
    assert len(calls) == 1
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with caplog.at_level(logging.WARNING, logger="molssl.zoo.resolve"):
        assert pretrained_dir(GCN) == directory
    assert "unreadable" in caplog.text
    load_checkpoint(directory)  # whole again


def test_an_explicit_file_is_verified_first(tmp_path):
    copy = tmp_path / "mine.pth"
    shutil.copy(RELEASED / "gcn_supervised_contextpred.pth", copy)
    directory = pretrained_dir(GCN, file=copy)
    assert load_checkpoint(directory)[2]["zoo"]["origin"] == "file"
    with pytest.raises(ChecksumError, match="gcn_contextpred.pth is not the released gcn_supervised_contextpred.pth"):
        pretrained_dir(GCN, file=RELEASED / "gcn_contextpred.pth")
    with pytest.raises(FileNotFoundError, match="absent.pth"):
        pretrained_dir(GCN, file=tmp_path / "absent.pth")


def test_a_gin_entry_without_a_local_file_says_how_to_get_it(private_home):
    with pytest.raises(FileNotFoundError, match="molssl zoo fetch hu2020/gin_contextpred"):
        pretrained_dir("hu2020/gin_contextpred")
    assert not (private_home / "zoo" / "hu2020" / "gin_contextpred").exists()


@pytest.fixture
def serve():
    """``serve(name, path, **changes)``: serve ``path`` as entry ``name``'s original at a file:// URL, no embedded
    copy, until the test ends."""
    with contextlib.ExitStack() as overrides:

        def serve(name: str, path, **changes):
            entry = dataclasses.replace(get_entry(name), url=path.resolve().as_uri(), embedded=None, **changes)
            return overrides.enter_context(ZOO.override(name, entry))

        yield serve


def test_download_only_when_asked_with_the_sha256_checked(serve, private_home):
    serve(GCN, RELEASED / "gcn_supervised_contextpred.pth")
    with pytest.raises(FileNotFoundError, match="zoo fetch"):
        pretrained_dir(GCN)
    directory = pretrained_dir(GCN, download=True)
    assert load_checkpoint(directory)[2]["zoo"]["origin"] == "download"
    assert (private_home / "zoo" / "sources" / "hu2020" / "gcn_supervised_contextpred.pth").is_file()
    shutil.rmtree(directory)
    assert pretrained_dir(GCN) == directory  # from the downloaded original, offline


def test_a_download_with_the_wrong_sha256_leaves_nothing(serve, private_home):
    serve(GCN, RELEASED / "gcn_contextpred.pth")  # another file at the URL
    with pytest.raises(ChecksumError):
        pretrained_dir(GCN, download=True)
    assert not [f for f in _files(private_home) if not f.startswith("zoo/sources/") or f.endswith(".pth")]


def test_a_gin_download_is_verified_by_its_git_blob_id(serve, private_home, legacy_gin_file):
    path, _ = legacy_gin_file
    name = "hu2020/gin_supervised_contextpred"
    serve(name, path, git_blob_sha1="0" * 40, num_layers=3, emb_dim=24)
    with pytest.raises(ChecksumError, match="git_blob_sha1"):
        pretrained_dir(name, download=True)
    assert _files(private_home) == []
    serve(name, path, git_blob_sha1=git_blob_sha1(path), num_layers=3, emb_dim=24)
    encoder = load_pretrained(name, download=True)
    assert (encoder.config.conv, encoder.config.num_layers, encoder.config.emb_dim) == ("gin", 3, 24)
    assert pretrained_dir(name) == private_home / "zoo" / "hu2020" / "gin_supervised_contextpred"  # cached


def test_resolve_pretrained_keeps_paths_and_catches_typos(tmp_path):
    assert resolve_pretrained(tmp_path) == tmp_path
    assert resolve_pretrained("runs/am/encoder") == "runs/am/encoder"  # not a zoo name: left to the loader
    with pytest.raises(ValueError, match="hu2020/gcn_supervised_contextpred"):
        resolve_pretrained("hu2020/gcn_suprvised_contextpred")
