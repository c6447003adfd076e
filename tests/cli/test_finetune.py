"""``molssl finetune`` and ``molssl predict`` as a user runs them: plan, folder rule, run folders as inputs, device."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import pandas as pd
import pytest

from molssl.cli.main import main
from molssl.pretrain import TrainConfig, pretrain
from tests.conftest import MOLECULENET, moleculenet_head

TINY = ["--num-layers", "2", "--emb-dim", "16", "--no-progress", "--device", "cpu", "--threads", "1"]


@pytest.fixture(scope="module")
def bbbp_csv(tmp_path_factory):
    return moleculenet_head("bbbp", 160, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def finished(bbbp_csv, tmp_path_factory):
    """A finished fine-tuning run (2 epochs, seeds 0 1) and its printout."""
    out = tmp_path_factory.mktemp("runs") / "run"
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        code = main(["finetune", str(bbbp_csv), "--epochs", "2", "--seeds", "0", "1", "--out", str(out), *TINY])
    assert code == 0, text.getvalue()
    return out, text.getvalue()


def test_the_plan_comes_first(finished, bbbp_csv):
    _, text = finished
    lines = text.splitlines()
    assert lines[0].startswith(f"data: {bbbp_csv}: 160 molecules") and "target(s): p_np" in lines[0]
    assert lines[1].startswith("task type: classification")
    assert sum(line.startswith("task type:") for line in lines) == 1  # said once, in the plan
    assert lines[2] == "split: scaffold: train 128, valid 16, test 16"
    assert lines[3].startswith("training: 2 epochs x 2 seed(s) (0 1), mode full,") and "parameters trainable, on cpu" in lines[3]
    assert lines[4] == "encoder: random initialization (from scratch)"


def test_a_finished_run_is_refused_then_overwritten_with_parallel_seeds(finished, bbbp_csv, capsys):
    out, _ = finished
    before = json.loads((out / "metrics.json").read_text())
    (out / "notes.txt").write_text("mine")
    args = ["finetune", str(bbbp_csv), "--epochs", "2", "--seeds", "0", "1", "--out", str(out), *TINY]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "already holds a fine-tuned model (model, metrics.json); pass --overwrite" in err
    assert json.loads((out / "metrics.json").read_text()) == before  # untouched
    assert main([*args, "--overwrite", "--jobs", "2"]) == 0
    after = json.loads((out / "metrics.json").read_text())
    assert after["metrics"]["per_seed"] == before["metrics"]["per_seed"]  # two processes, the sequential numbers
    assert (out / "notes.txt").read_text() == "mine"


def test_a_failed_run_writes_nothing(bbbp_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["finetune", str(bbbp_csv), "--targets", "no_such_column", "--out", str(out), *TINY]) == 2
    assert "no_such_column" in capsys.readouterr().err
    assert not out.exists()


def test_predict_takes_the_finetune_folder(finished, tmp_path, capsys):
    out, _ = finished
    assert main(["predict", str(out), "--smiles", "CCO", "c1ccccc1O", "--device", "cpu", "--threads", "1",
                 "--out", str(tmp_path / "p.csv")]) == 0  # fmt: skip
    frame = pd.read_csv(tmp_path / "p.csv")
    assert frame["smiles"].tolist() == ["CCO", "c1ccccc1O"] and frame["p_np"].between(0, 1).all()
    assert main(["predict", str(tmp_path), "--smiles", "CCO"]) == 2  # a folder holding no model
    assert "config.json is missing" in capsys.readouterr().err


def test_finetune_from_a_pretraining_run_folder(bbbp_csv, tmp_path, capsys):
    corpus = tmp_path / "corpus.smi"
    corpus.write_text("\n".join(pd.read_csv(MOLECULENET / "bbbp.csv")["smiles"].iloc[200:300]) + "\n")
    run = tmp_path / "pretrain"
    train = TrainConfig(steps=2, batch_size=32, progress=False, device="cpu", log_every=1, checkpoint_every=2)
    pretrain("attr_masking", corpus, run, encoder={"num_layers": 2, "emb_dim": 16}, train=train)
    out = tmp_path / "ft"
    assert main(["finetune", str(bbbp_csv), "--epochs", "1", "--pretrained", str(run), "--out", str(out), *TINY]) == 0
    assert f"encoder: from {run}" in capsys.readouterr().out
    assert main(["predict", str(run), "--smiles", "CCO"]) == 2  # a pretraining folder holds an encoder, not a predictor
    assert "a pretrained encoder: fine-tune it first" in capsys.readouterr().err
    assert json.loads((out / "metrics.json").read_text())["info"]["pretrained"] == str(run)
    # a run that has not finished is named as such
    shutil.rmtree(run / "encoder")
    assert main(["finetune", str(bbbp_csv), "--epochs", "1", "--pretrained", str(run), "--out", str(tmp_path / "ft2"), *TINY]) == 2
    assert "pretraining run folder without encoder/: the run has not finished" in capsys.readouterr().err


def test_bad_device_is_a_clear_error(bbbp_csv, tmp_path, capsys):
    args = ["finetune", str(bbbp_csv), "--out", str(tmp_path / "x"), "--num-layers", "2", "--emb-dim", "16", "--no-progress"]
    assert main([*args, "--device", "tpu7"]) == 2
    assert "unknown device 'tpu7'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
