"""Issue 11: resume after kills that interrupt a checkpoint's replacement; never a silent restart; leftovers cleaned."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

import molssl.checkpoint.save as checkpoint_save
from molssl.checkpoint import CheckpointRecoveryWarning
from molssl.nn.pretrained import load_encoder
from molssl.pretrain import pretrain
from molssl.pretrain.run_dir import RunDirectoryError
from tests.pretrain.conftest import SMALL_ENCODER, fast

TRAIN = {"steps": 30, "log_every": 5, "checkpoint_every": 10}


def _killed_at(step: int):
    def on_log(row):
        if row["step"] == step:
            raise KeyboardInterrupt(f"simulated kill at step {step}")

    return on_log


def _leftovers(run: Path) -> list[str]:
    return sorted(p.name for p in run.iterdir() if p.name.startswith((".state.", ".encoder.")))


@pytest.fixture(scope="module")
def uninterrupted(store, tmp_path_factory):
    return pretrain("attr_masking", store, tmp_path_factory.mktemp("full") / "run", encoder=SMALL_ENCODER, train=fast(**TRAIN))


def _same_encoder(a: Path, b: Path) -> bool:
    x, y = load_encoder(a).state_dict(), load_encoder(b).state_dict()
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def test_kill_between_the_renames_resumes_from_the_newest_complete_copy(store, tmp_path, monkeypatch, uninterrupted):
    run = tmp_path / "run"
    real_rename, killed = os.rename, []

    def rename(src, dst):
        if killed:  # the process is dead: neither the new copy nor the old one is renamed into place
            raise KeyboardInterrupt("SIGKILL between the two renames")
        real_rename(src, dst)
        if Path(dst).name.startswith(".state.old-") and Path(src).name == "state":
            killed.append(dst)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: None)  # a killed process cleans nothing
    with pytest.raises(KeyboardInterrupt):
        pretrain("attr_masking", store, run, encoder=SMALL_ENCODER, train=fast(**TRAIN))  # killed saving step 20
    monkeypatch.undo()
    assert not (run / "state").exists() and [n[:11] for n in _leftovers(run)] == [".state.old-", ".state.tmp-"]

    logged: list[int] = []
    with pytest.warns(CheckpointRecoveryWarning, match=r"state is missing; loaded the complete copy .*\.state\.tmp-"):
        resumed = pretrain("attr_masking", store, run, encoder=SMALL_ENCODER, train=fast(**TRAIN), resume=True,
                           on_log=lambda row: logged.append(row["step"]))  # fmt: skip
    assert logged == [25, 30]  # continued after step 20, not restarted at 0
    assert _same_encoder(resumed.encoder_dir, uninterrupted.encoder_dir)
    assert [r["step"] for r in resumed.metrics] == [5, 10, 15, 20, 25, 30]
    assert _leftovers(run) == []  # the run's next save removed both copies


def test_resume_without_a_loadable_state_is_an_error_not_a_restart(store, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        pretrain("attr_masking", store, run, encoder=SMALL_ENCODER, train=fast(**TRAIN), on_log=_killed_at(25))
    (run / "state" / "config.json").unlink()
    with pytest.raises(RunDirectoryError, match=r"cannot resume: .*no loadable training state.*config\.json is missing.*remove"):
        pretrain("attr_masking", store, run, encoder=SMALL_ENCODER, train=fast(**TRAIN), resume=True)


def test_resume_of_a_run_without_progress_starts_at_step_0(store, tmp_path, caplog, uninterrupted):
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):  # killed before its first checkpoint: nothing saved to lose
        pretrain("attr_masking", store, run, encoder=SMALL_ENCODER, train=fast(**TRAIN), on_log=_killed_at(5))
    assert not (run / "state").exists()
    with caplog.at_level("INFO", logger="molssl.pretrain.trainer"):
        resumed = pretrain("attr_masking", store, run, encoder=SMALL_ENCODER, train=fast(**TRAIN), resume=True)
    assert "no training state saved yet; starting at step 0" in caplog.text
    assert _same_encoder(resumed.encoder_dir, uninterrupted.encoder_dir)


def test_leftovers_of_kills_during_saves_are_removed_by_the_resumed_run(store, tmp_path, monkeypatch):
    run = tmp_path / "run"
    real_write, writes = checkpoint_save.write_json_atomic, []

    def write_json(path, document):
        writes.append(path)
        if len(writes) == 2:
            raise KeyboardInterrupt("SIGKILL while writing the second state")
        real_write(path, document)

    monkeypatch.setattr(checkpoint_save, "write_json_atomic", write_json)
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: None)
    with pytest.raises(KeyboardInterrupt):
        pretrain("attr_masking", store, run, encoder=SMALL_ENCODER, train=fast(**TRAIN))
    monkeypatch.undo()
    stale_encoder = run / ".encoder.tmp-0badc0de"  # a kill while the final encoder was written, earlier
    stale_encoder.mkdir()
    (stale_encoder / "model.safetensors").write_bytes(b"\0" * 1024)
    assert [n[:11] for n in _leftovers(run)] == [".encoder.tm", ".state.tmp-"]
    resumed = pretrain("attr_masking", store, run, encoder=SMALL_ENCODER, train=fast(**TRAIN), resume=True)
    assert resumed.steps == 30 and _leftovers(run) == []
