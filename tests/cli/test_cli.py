"""The molssl command: featurize, split, datasets (run in-process through ``main``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from molssl.cli.main import main
from molssl.data.embedded import default_corpus
from tests.conftest import MOLECULENET


def test_featurize_summary_and_skips(tmp_path, capsys):
    src = tmp_path / "mols.smi"
    src.write_text("SMILES\nCCO\nC1CC(\nc1ccccc1\n\n[Na+].[Cl-]\n")
    code = main(["featurize", str(src), "--cache-dir", str(tmp_path / "c"), "--workers", "1", "--no-progress", "--scheme", "ogb"])
    out = capsys.readouterr().out
    assert code == 0
    assert "molecules: 3" in out and "skipped: 2" in out
    assert "skipped row 1: 'C1CC(': SMILES syntax error" in out and "skipped row 3: '': empty SMILES" in out


def test_featurize_raise_mode_exits_with_row_and_reason(tmp_path, capsys):
    src = tmp_path / "mols.smi"
    src.write_text("CCO\nC(C)(C)(C)(C)C\n")
    code = main(["featurize", str(src), "--cache-dir", str(tmp_path / "c"), "--on-error", "raise", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "row 1" in err and "valence" in err


def test_featurize_json(tmp_path, capsys):
    src = MOLECULENET / "freesolv.csv"
    assert main(["featurize", str(src), "--cache-dir", str(tmp_path), "--json", "--no-progress", "--workers", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["molecules"] == 642 and summary["skipped"] == 0 and summary["scheme"] == "hu v1"


def test_split_writes_json(tmp_path, capsys):
    out = tmp_path / "split.json"
    assert main(["split", str(MOLECULENET / "esol.csv"), "--out", str(out)]) == 0
    split = json.loads(out.read_text())
    assert len(split["train"]) + len(split["valid"]) + len(split["test"]) == 1128
    assert not set(split["train"]) & set(split["test"])


def test_datasets_lists_catalog(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("BBBP", "Tox21", "ToxCast", "SIDER", "ClinTox", "MUV", "HIV", "BACE", "ESOL", "FreeSolv", "Lipophilicity"):
        assert name in out


def test_console_script_and_default_corpus():
    assert default_corpus().name == "moses_50k.smi.gz"
    proc = subprocess.run([sys.executable, "-m", "molssl.cli.main", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "featurize" in proc.stdout


def test_finetune_then_predict(tmp_path, capsys):
    import pandas as pd

    data = tmp_path / "esol_small.csv"
    pd.read_csv(MOLECULENET / "esol.csv").iloc[:150].to_csv(data, index=False)
    out = tmp_path / "run"
    code = main(["finetune", str(data), "--epochs", "2", "--seeds", "0", "1", "--num-layers", "2", "--emb-dim", "16",
                 "--out", str(out), "--no-progress"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "rmse over 2 seed(s)" in text
    report = json.loads((out / "metrics.json").read_text())
    assert report["metrics"]["num_seeds"] == 2 and len(report["metrics"]["per_seed"][0]["history"]) == 2
    smi = tmp_path / "new.smi"
    smi.write_text("SMILES\nCCO\nnot_smiles\nc1ccccc1\n")
    assert main(["predict", str(out / "model"), "--input", str(smi), "--out", str(tmp_path / "pred.csv")]) == 0
    pred = pd.read_csv(tmp_path / "pred.csv", keep_default_na=False)
    assert pred["smiles"].tolist() == ["CCO", "not_smiles", "c1ccccc1"]
    assert pred.loc[1, "logp"] == "" and "syntax error" in pred.loc[1, "error"]
    assert "predicted 2 of 3 molecules" in capsys.readouterr().out


def test_finetune_unknown_dataset_is_a_clear_error(tmp_path, capsys):
    assert main(["finetune", "nope", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "neither a file nor a MoleculeNet dataset name" in capsys.readouterr().err


def test_example_end_to_end(tmp_path, capsys, monkeypatch):
    from molssl.data.corpus import read_smiles_file

    monkeypatch.setenv("MOLSSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MOLSSL_HOME", str(tmp_path / "home"))  # the zoo converts into its cache here
    corpus = tmp_path / "corpus.smi"  # the embedded corpus's first 600 molecules: the store builds in a second
    corpus.write_text("\n".join(read_smiles_file(default_corpus()).smiles[:600]) + "\n")
    args = ["example", "--dataset", "freesolv", "--epochs", "1", "--seeds", "0", "--method", "attr_masking",
            "--pretrain-steps", "2", "--data", str(corpus), "--out", str(tmp_path / "m"), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"pretraining GCN 5x300 with attr_masking on {corpus}: 2 steps" in out
    assert "freesolv: 642 molecules, scaffold split 513/64/65, GCN 5x300" in out
    assert "no pretraining" in out and "pretrained (hu2020/gcn_supervised_contextpred)" in out
    assert "pretrained (attr_masking, 2 steps)" in out and out.count("test rmse") == 3
    assert "aspirin" not in out and "CC(=O)Oc1ccccc1C(=O)O" in out and "syntax error" in out
    assert (tmp_path / "m" / "model" / "config.json").is_file()
    assert (tmp_path / "m" / "pretrain-attr_masking" / "encoder" / "config.json").is_file()
    assert (tmp_path / "home").is_dir()

def test_example_data_needs_a_method(tmp_path, capsys):
    assert main(["example", "--data", str(tmp_path / "x.smi"), "--out", str(tmp_path), "--no-progress"]) == 2
    assert "--data is the corpus of --method" in capsys.readouterr().err


def test_example_refuses_a_method_that_needs_labels(tmp_path, capsys):
    assert main(["example", "--method", "supervised", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "--method supervised needs labelled molecules" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # an image method is no choice of the graph example
        main(["example", "--method", "simclr", "--out", str(tmp_path), "--no-progress"])


def test_example_refuses_zero_jobs_or_threads(tmp_path, capsys):
    assert main(["example", "--jobs", "0", "--out", str(tmp_path), "--no-progress"]) == 2
    assert main(["example", "--threads", "0", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "--jobs and --threads must be >= 1" in capsys.readouterr().err
