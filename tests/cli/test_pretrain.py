"""``molssl pretrain``: trains from the command line, survives a SIGKILL, explains bad options."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from molssl.cli.main import main
from molssl.nn.pretrained import load_encoder

SMALL = ["--num-layers", "2", "--emb-dim", "32", "--batch-size", "32", "--device", "cpu", "--no-progress"]


def _corpus(tmp_path, n=200):
    from molssl.data.corpus import read_smiles_file
    from molssl.data.embedded import default_corpus

    path = tmp_path / "corpus.smi"
    path.write_text("\n".join(read_smiles_file(default_corpus()).smiles[:n]) + "\n")
    return path


def test_pretrain_then_finetune_from_the_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MOLSSL_CACHE", str(tmp_path / "cache"))
    corpus = _corpus(tmp_path)
    code = main(["pretrain", "--method", "context_pred", "--data", str(corpus), "--out", str(tmp_path / "run"),
                 "--steps", "6", "--log-every", "3", "--checkpoint-every", "3", "-o", "context_size=2", *SMALL])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "context_pred: 6 steps" in out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["method_config"]["context_size"] == 2
    code = main(["finetune", "bace", "--pretrained", str(tmp_path / "run" / "encoder"), "--epochs", "1",
                 "--num-layers", "2", "--emb-dim", "32", "--out", str(tmp_path / "ft"), "--no-progress"])  # fmt: skip
    assert code == 0, capsys.readouterr().err


def test_unknown_method_option_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MOLSSL_CACHE", str(tmp_path / "cache"))
    code = main(["pretrain", "--method", "attr_masking", "--data", str(_corpus(tmp_path, 50)), "--out", str(tmp_path / "r"),
                 "-o", "mask_ratio=0.2", "--steps", "1", *SMALL])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "unknown AttributeMaskingConfig keys ['mask_ratio']" in err and "mask_rate" in err


# 200 molecules / 32 = 6 batches per epoch; with the curriculum over the first 20 of 40 steps the kill
# (at step 8 or later) falls inside it, in epoch 1; dropout is on, recomputed in every layer
CURRICULUM = ["--size-curriculum", "0.5", "--activation-checkpointing", "--dropout", "0.2"]


@pytest.mark.parametrize("extra_options", [[], CURRICULUM], ids=["plain", "curriculum_checkpointing_dropout"])
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, extra_options):
    corpus = _corpus(tmp_path)
    env = {**os.environ, "MOLSSL_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    args = ["--method", "attr_masking", "--data", str(corpus), "--steps", "40", "--log-every", "2", "--checkpoint-every", "4",
            *SMALL, *extra_options]  # fmt: skip

    def run(out, extra=()):
        return subprocess.run([sys.executable, "-m", "molssl", "pretrain", *args, "--out", str(out), *extra],
                              env=env, capture_output=True, text=True, timeout=300)  # fmt: skip

    full = run(tmp_path / "full")
    assert full.returncode == 0, full.stderr[-3000:]
    cut = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, "-m", "molssl", "pretrain", *args, "--out", str(cut)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        state = cut / "state" / "config.json"
        if state.is_file() and json.loads(state.read_text())["extra"]["progress"]["step"] >= 8:
            break
        time.sleep(0.05)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert killed, "the run finished before it could be killed; make it longer"
    assert not (cut / "encoder").exists()
    resumed = run(cut, ["--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = load_encoder(tmp_path / "full" / "encoder").state_dict(), load_encoder(cut / "encoder").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = lambda p: [{k: v for k, v in json.loads(l).items() if k != "graphs_per_s"} for l in (p / "metrics.jsonl").read_text().splitlines()]  # noqa: E731, E741
    assert rows(tmp_path / "full") == rows(cut)
    train = json.loads((cut / "config.json").read_text())["train"]
    assert (train["size_curriculum"], train["activation_checkpointing"]) == ((0.5, True) if extra_options else (0.0, False))


def test_bad_curriculum_options_are_clear_errors(tmp_path, capsys):
    code = main(["pretrain", "--method", "attr_masking", "--out", str(tmp_path / "r"), "--size-curriculum", "1.5", *SMALL])
    assert code == 2 and "size_curriculum must be in [0, 1] (0 = no curriculum), got 1.5" in capsys.readouterr().err
    code = main(["pretrain", "--method", "attr_masking", "--out", str(tmp_path / "r"), "--size-curriculum", "0.5",
                 "--curriculum-start", "0", *SMALL])  # fmt: skip
    assert code == 2 and "curriculum_start must be in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_descriptors_with_attribute_masking_from_the_cli(tmp_path, capsys, monkeypatch):
    """``--method descriptors -o attr_masking_weight=W``: both objectives train one encoder, W and the targets recorded."""
    monkeypatch.setenv("MOLSSL_CACHE", str(tmp_path / "cache"))
    corpus = _corpus(tmp_path, 64)
    code = main(["pretrain", "--method", "descriptors", "--data", str(corpus), "--out", str(tmp_path / "run"), "--steps", "4",
                 "--log-every", "2", "--checkpoint-every", "4", "-o", 'descriptors=["MolWt","TPSA"]', "-o", "attr_masking_weight=0.5",
                 *SMALL])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["method_config"]["attr_masking_weight"] == 0.5 and config["method_config"]["descriptors"] == ["MolWt", "TPSA"]
    assert config["source"]["descriptor_targets"]["names"] == ["MolWt", "TPSA"]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    for row in rows:  # the logged loss is the descriptor loss plus the weighted masking loss
        assert row["loss"] == pytest.approx(row["descriptor_loss"] + 0.5 * row["masking_loss"], rel=1e-5)
    assert load_encoder(tmp_path / "run" / "encoder").config.emb_dim == 32
