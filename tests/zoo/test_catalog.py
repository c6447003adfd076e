"""The zoo catalog: every entry identifies its original; the embedded copies and the card agree with it."""

from __future__ import annotations

import hashlib
import re

import pytest

from molssl.nn.encoder import GNNEncoder
from molssl.zoo import ZOO, get_entry, git_blob_sha1, list_entries
from molssl.zoo.catalog import PRETRAIN_GNNS_COMMIT
from tests.zoo.conftest import ARCHITECTURE_FILES, MOLSSL_ARCH, RELEASED

GIN_STRATEGIES = ["contextpred", "infomax", "edgepred", "masking", "supervised", "supervised_contextpred",
                  "supervised_infomax", "supervised_edgepred", "supervised_masking"]  # fmt: skip


def test_the_zoo_names_every_released_chemistry_encoder():
    names = {f"hu2020/{f.removesuffix('.pth')}" for f, _ in ARCHITECTURE_FILES} | {f"hu2020/gin_{s}" for s in GIN_STRATEGIES}
    assert set(ZOO) == names
    assert [e.name for e in list_entries()] == sorted(names)


@pytest.mark.parametrize("file_name, arch", ARCHITECTURE_FILES)
def test_embedded_files_match_their_entries(file_name, arch):
    entry = get_entry(f"hu2020/{file_name.removesuffix('.pth')}")
    path = RELEASED / file_name
    assert entry.arch == MOLSSL_ARCH[arch] and entry.embedded == f"pretrain-gnns/{file_name}"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256
    assert git_blob_sha1(path) == entry.git_blob_sha1 and path.stat().st_size == entry.size
    assert entry.url.endswith(f"/{PRETRAIN_GNNS_COMMIT}/chem/model_architecture/{file_name}")


def test_git_blob_sha1_is_gits_object_id(tmp_path):
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    assert git_blob_sha1(path) == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object hello.txt`


def test_gin_entries_are_verified_by_their_upstream_blob_id():
    for strategy in GIN_STRATEGIES:
        entry = get_entry(f"hu2020/gin_{strategy}")
        assert entry.arch == "gin" and entry.sha256 is None and entry.embedded is None
        assert re.fullmatch(r"[0-9a-f]{40}", entry.git_blob_sha1)
        assert entry.url.endswith(f"/{PRETRAIN_GNNS_COMMIT}/chem/model_gin/{strategy}.pth")


def test_card_lists_the_checksums_of_the_catalog():
    card = (RELEASED / "README.md").read_text()
    for entry in list_entries():
        assert entry.git_blob_sha1 in card, entry.name
        if entry.sha256:
            assert entry.sha256 in card, entry.name
    assert "MIT License" in (RELEASED / "LICENSE").read_text()


def test_entries_describe_the_encoder_they_convert_to():
    gat, gin = get_entry("hu2020/gat_supervised_contextpred"), get_entry("hu2020/gin_supervised_masking")
    assert gat.encoder_config().conv_options == {"heads": 2, "softmax": "pretrain_gnns_legacy"}
    assert sum(p.numel() for p in GNNEncoder(gin.encoder_config()).parameters()) == 1_857_900  # the reference GIN
    assert gat.description == ("context prediction on 2M ZINC15 molecules, then supervised multi-task pretraining "
                               "on 456K ChEMBL molecules (1,310 assays)")  # fmt: skip
    assert gat.to_dict()["license"].startswith("MIT") and "ICLR 2020" in gat.to_dict()["citation"]
    with pytest.raises(ValueError, match="hu2020/gcn_contextpred"):
        get_entry("hu2020/gcn_context")
