"""DDP on CPU (gloo, 2 processes launched by torchrun): same losses as one process, resume across ranks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from molssl.nn.pretrained import load_encoder
from tests.conftest import MOLECULENET

COMMON = ["--num-layers", "2", "--emb-dim", "32", "--batch-size", "32", "--log-every", "1", "--checkpoint-every", "6",
          "--device", "cpu", "--no-progress"]  # fmt: skip


def _molssl(args: list[str], nproc: int, cwd) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", "-m", "molssl"]
    cmd = (launcher if nproc > 1 else [sys.executable, "-m", "molssl"]) + ["pretrain", *args, *COMMON]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def _losses(run) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("method", ["supervised", "attr_masking"])
def test_two_processes_match_one_on_the_same_global_batch(method, store, tmp_path):
    data = str(MOLECULENET / "sider.csv") if method == "supervised" else str(store.path)
    args = ["--method", method, "--data", data, "--steps", "8"]
    _molssl([*args, "--out", str(tmp_path / "one")], 1, tmp_path)
    _molssl([*args, "--out", str(tmp_path / "two")], 2, tmp_path)
    one, two = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(one) == len(two) == 8
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["world_size"] == 2
    # each rank normalizes its own half-batch (BatchNorm) and, for masking, draws its own masks: the
    # losses agree within a few percent, not bitwise
    rel = [abs(a - b) / abs(a) for a, b in zip(one, two)]
    assert rel[0] < 0.05 and sum(rel) / len(rel) < 0.08, (one, two)


def test_resume_across_ranks(store, tmp_path):
    args = ["--method", "edge_pred", "--data", str(store.path)]
    _molssl([*args, "--steps", "12", "--out", str(tmp_path / "full")], 2, tmp_path)
    _molssl([*args, "--steps", "6", "--out", str(tmp_path / "cut")], 2, tmp_path)
    _molssl([*args, "--steps", "12", "--out", str(tmp_path / "cut"), "--resume"], 2, tmp_path)
    a = load_encoder(tmp_path / "full" / "encoder").state_dict()
    b = load_encoder(tmp_path / "cut" / "encoder").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _losses(tmp_path / "full") == _losses(tmp_path / "cut")
