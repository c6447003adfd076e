"""``molssl ogb run | report | list`` (in-process through ``main``)."""

from __future__ import annotations

import json

import pytest

from molssl.cli.main import main
from tests.ogb.conftest import NAME, bbbp_subset, ogb_root, one_torch_thread  # noqa: F401  (fixtures)


def test_ogb_run_then_report(ogb_root, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "run"
    args = ["ogb", "run", NAME, "--root", str(ogb_root), "--out", str(out), "--encoder", "gin", "--seeds", "2", "--epochs", "1",
            "--num-layers", "2", "--emb-dim", "8", "--no-download", "--no-progress", "--contact", "A. Person (a@b.org)",
            "--external-data", "none really"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    record = json.loads((out / "record.json").read_text())
    assert record["summary"]["finished_seeds"] == [0, 1] and record["contact"] == "A. Person (a@b.org)"
    assert "| 1 | GIN (external data: none really) | Yes (none really) |" in printed and str(out / "record.json") in printed
    assert main(["ogb", "run", *args[2:]]) == 0  # rerun: every seed is done, nothing trains
    assert json.loads((out / "record.json").read_text())["seeds"] == record["seeds"]
    capsys.readouterr()
    table = tmp_path / "table.md"
    assert main(["ogb", "report", str(out), str(out / "record.json"), "--out", str(table)]) == 0
    assert table.read_text().count("| GIN (external data: none really) |") == 2 and "Rank" in capsys.readouterr().out


def test_ogb_errors_exit_2_with_the_reason(ogb_root, tmp_path, capsys):  # noqa: F811
    assert main(["ogb", "run", "ogbg-molhiw", "--root", str(ogb_root), "--no-download"]) == 2
    assert "did you mean 'ogbg-molhiv'" in capsys.readouterr().err
    assert main(["ogb", "run", "ogbg-molhiv", "--root", str(tmp_path), "--no-download", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "molssl ogb: error:" in err and "hiv.zip" in err
    assert main(["ogb", "report", str(tmp_path / "nothing")]) == 2
    assert "no harness record" in capsys.readouterr().err


def test_ogb_list(capsys):
    assert main(["ogb", "list"]) == 0
    out = capsys.readouterr().out
    assert "ogbg-molpcba" in out and "  128 ap" in out and "ogbg-molesol" in out


@pytest.mark.parametrize("argv", [["ogb"], ["ogb", "run"]])
def test_ogb_usage_errors(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)


def test_ogb_run_draws_no_bar_before_its_error(ogb_root, tmp_path, capsys):  # noqa: F811
    assert main(["ogb", "run", "ogbg-molhiv", "--root", str(tmp_path), "--no-download"]) == 2  # progress bar on
    err = capsys.readouterr().err
    assert err.startswith("molssl ogb: error:") and "epoch" not in err


def test_ogb_run_overwrite_replaces_another_configuration(ogb_root, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "run"
    args = ["ogb", "run", NAME, "--root", str(ogb_root), "--out", str(out), "--encoder", "gin", "--seeds", "1",
            "--num-layers", "2", "--emb-dim", "8", "--no-download", "--no-progress", "--device", "cpu"]  # fmt: skip
    assert main([*args, "--epochs", "1"]) == 0
    assert main([*args, "--epochs", "2"]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main([*args, "--epochs", "2", "--overwrite"]) == 0
    record = json.loads((out / "record.json").read_text())
    assert record["config"]["epochs"] == 2 and len(record["seeds"]["0"]["history"]) == 2
