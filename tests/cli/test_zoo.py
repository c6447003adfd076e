"""``molssl zoo list | show | fetch``, ``molssl convert pretrain-gnns`` and ``finetune --pretrained NAME``."""

from __future__ import annotations

import json

import pytest

from molssl.cli.main import main
from tests.conftest import MOLECULENET
from tests.zoo.conftest import RELEASED

GCN = "hu2020/gcn_supervised_contextpred"


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch):
    """The zoo's cache in a temporary directory: tests never write to the user's home."""
    home = tmp_path_factory.mktemp("molssl_home")
    monkeypatch.setenv("MOLSSL_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("user_home")))
    return home


def test_zoo_list_and_show(capsys):
    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    assert "hu2020/gin_supervised_masking" in out and "1,857,900" in out and "fetch" in out
    assert f"{GCN} " in out and "504,900" in out and "embedded" in out
    assert main(["zoo", "show", "hu2020/gat_supervised"]) == 0
    out = capsys.readouterr().out
    assert "pretrain_gnns_legacy" in out and "62edee2aaf82c82e" in out and "MIT" in out and "ICLR 2020" in out
    assert main(["zoo", "show", GCN, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["num_parameters"] == 504_900 and data["arch"] == "gcn" and data["available"] == "embedded"


def test_zoo_fetch_with_a_file_and_the_errors(tmp_path, capsys, private_home):
    assert main(["zoo", "fetch", GCN, "--file", str(RELEASED / "gcn_supervised_contextpred.pth")]) == 0
    assert str(private_home / "zoo" / GCN) in capsys.readouterr().out
    assert main(["zoo", "show", GCN, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["available"] == "cached"
    assert main(["zoo", "fetch", GCN, "--file", str(RELEASED / "gcn_supervised.pth")]) == 2
    assert "is not the released gcn_supervised_contextpred.pth" in capsys.readouterr().err
    assert main(["zoo", "show", "hu2020/nothing"]) == 2
    assert "valid names" in capsys.readouterr().err


def test_convert_pretrain_gnns(tmp_path, capsys):
    out = tmp_path / "gat"
    assert main(["convert", "pretrain-gnns", str(RELEASED / "gat_contextpred.pth"), "--arch", "gat", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "gat, 5 layers x 300" in printed and "edge_index[0]" in printed and "pretrain_gnns_legacy" in printed
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert main(["convert", "pretrain-gnns", str(RELEASED / "gat_contextpred.pth"), "--arch", "gcn", "--out", str(tmp_path / "x")]) == 2
    assert "unknown keys" in capsys.readouterr().err and not (tmp_path / "x").exists()
    args = ["convert", "pretrain-gnns", str(RELEASED / "gat_contextpred.pth"), "--arch", "gat", "--out", str(out)]
    assert main(args) == 2  # a finished conversion is there
    assert "already holds a molssl checkpoint (config.json); pass --overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_finetune_from_a_zoo_name_offline(tmp_path, capsys):
    header, *rows = (MOLECULENET / "bbbp.csv").read_text().splitlines()
    data = tmp_path / "bbbp60.csv"
    data.write_text("\n".join([header, *[r for r in rows if r.endswith(",0")][:30], *[r for r in rows if r.endswith(",1")][:30]]) + "\n")
    out = tmp_path / "run"
    args = ["finetune", str(data), "--pretrained", GCN, "--split", "stratified", "--epochs", "1", "--seeds", "0",
            "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    report = json.loads((out / "metrics.json").read_text())
    assert report["info"]["pretrained"] == GCN and report["info"]["num_parameters"] > 504_900
