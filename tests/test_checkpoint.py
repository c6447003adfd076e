"""Checkpoints: roundtrip of a real model, plain JSON, corruption, scheme mismatch, interrupted saves."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

import molssl
import molssl.checkpoint as checkpoint
import molssl.checkpoint.save as checkpoint_save
from molssl.checkpoint import CheckpointError, CheckpointRecoveryWarning, SchemeMismatchError, load_checkpoint, save_checkpoint
from molssl.chem.schemes import get_spec


def small_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    model(torch.randint(0, 10, (16,)))  # a training step updates BatchNorm's running stats and counter
    return model


def config_for(scheme: str = "hu") -> dict:
    return {"encoder": {"name": "gin", "hidden": 8, "dropout": 0.1, "layers": [1, 2]}, "scheme": get_spec(scheme).to_dict()}


@pytest.fixture()
def saved(tmp_path) -> tuple[Path, nn.Module]:
    model = small_model()
    directory = save_checkpoint(tmp_path / "ckpt", config_for(), model.state_dict(), extra={"target_scaler": {"mean": [0.5], "std": [2.0]}})
    return directory, model


def test_roundtrip_real_model_with_buffers(saved):
    directory, model = saved
    assert sorted(p.name for p in directory.iterdir()) == ["config.json", "model.safetensors"]
    config, state_dict, extra = load_checkpoint(directory, expected_scheme=get_spec("hu").to_dict())
    original = model.state_dict()
    assert sorted(state_dict) == sorted(original) and "2.running_mean" in state_dict and "2.num_batches_tracked" in state_dict
    for name, tensor in original.items():
        assert state_dict[name].dtype == tensor.dtype and torch.equal(state_dict[name], tensor), name
    assert state_dict["2.num_batches_tracked"].item() == 1
    assert config == config_for() and extra == {"target_scaler": {"mean": [0.5], "std": [2.0]}}
    restored = small_model()
    with torch.no_grad():
        for p in restored.parameters():
            p.zero_()
    restored.load_state_dict(state_dict)
    restored.eval(), model.eval()
    x = torch.randint(0, 10, (5,))
    assert torch.equal(restored(x), model(x))


def test_equal_saves_write_equal_bytes(tmp_path):
    """safetensors' own writer orders the metadata by a per-map random hash, so equal saves once differed in
    bytes and in the sha256 config.json records (seen as a flaky exact-resume test); 16 saves agree now."""
    model = small_model()
    written = set()
    for i in range(16):
        directory = save_checkpoint(tmp_path / f"ckpt{i}", config_for(), model.state_dict(), extra={"k": [1, 2]})
        written.add((directory / "model.safetensors").read_bytes())
        assert json.loads((directory / "config.json").read_text())["weights"]["sha256"] == hashlib.sha256(next(iter(written))).hexdigest()
    assert len(written) == 1
    load_checkpoint(directory)


def test_config_json_is_plain_data(saved):
    directory, _ = saved
    text = (directory / "config.json").read_text()
    document = json.loads(text)  # strict JSON, no pickled or custom objects
    assert "NaN" not in text
    assert document["format"] == "molssl-checkpoint" and document["format_version"] == 2
    assert document["molssl_version"] == molssl.__version__ and document["created"].endswith("+00:00")
    assert document["config"]["scheme"]["name"] == "hu" and document["config"]["scheme"]["version"] == 1
    weights = document["weights"]
    assert weights["file"] == "model.safetensors" and len(weights["sha256"]) == 64
    assert weights["size"] == (directory / "model.safetensors").stat().st_size


def test_shared_and_non_contiguous_tensors(tmp_path):
    base = torch.arange(12.0).reshape(3, 4)
    state = {"weight": base, "tied": base, "transposed": base.t(), "row": base[1], "grad": torch.ones(2, requires_grad=True)}
    _, loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "c", {}, state))
    for name, tensor in state.items():
        assert torch.equal(loaded[name], tensor.detach()) and loaded[name].is_contiguous()
    with pytest.raises(TypeError, match=r"state_dict\['step'\] is a int"):
        save_checkpoint(tmp_path / "d", {}, {"step": 3})
    with pytest.raises(TypeError, match=r"config\['lr'\] is a torch.Tensor.*plain data"):
        save_checkpoint(tmp_path / "d", {"lr": torch.tensor(0.1)}, {})
    with pytest.raises(TypeError, match="NaN"):
        save_checkpoint(tmp_path / "d", {}, {}, extra={"best": float("nan")})
    assert not (tmp_path / "d").exists()


def test_truncated_weights(saved):
    directory, _ = saved
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: \d+ bytes but config\.json records \d+; the file is truncated"):
        load_checkpoint(directory)


def test_flipped_byte(saved):
    directory, _ = saved
    weights = directory / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) - 5] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: sha256 [0-9a-f]{64} does not match [0-9a-f]{64}.*corrupted"):
        load_checkpoint(directory)


def test_missing_files_and_malformed_json(saved, tmp_path):
    directory, _ = saved
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    (directory / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="weights file is missing"):
        load_checkpoint(directory)
    (directory / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_checkpoint(directory)
    (directory / "config.json").write_text('{"format": "molssl-checkpoint", "format_version": 1,')
    with pytest.raises(CheckpointError, match=r"config\.json: malformed JSON"):
        load_checkpoint(directory)
    (directory / "config.json").write_text('{"format": "something-else"}')
    with pytest.raises(CheckpointError, match="not a molssl checkpoint"):
        load_checkpoint(directory)


def test_newer_format_and_hostile_weights_path(saved):
    directory, _ = saved
    document = json.loads((directory / "config.json").read_text())
    newer = checkpoint.FORMAT_VERSION + 1
    (directory / "config.json").write_text(json.dumps({**document, "format_version": newer, "molssl_version": "9.0"}))
    with pytest.raises(CheckpointError, match=f"format version {newer} was written by molssl 9.0.*Upgrade molssl"):
        load_checkpoint(directory)
    document["weights"]["file"] = "../elsewhere.safetensors"
    (directory / "config.json").write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="plain file name"):
        load_checkpoint(directory)


def test_pickle_file_is_refused(saved):
    directory, model = saved
    torch.save(model.state_dict(), directory / "model.safetensors")
    document = json.loads((directory / "config.json").read_text())
    data = (directory / "model.safetensors").read_bytes()
    document["weights"].update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    (directory / "config.json").write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(directory)


def test_scheme_mismatch(saved, tmp_path):
    directory, _ = saved
    with pytest.raises(SchemeMismatchError, match=r"trained with featurization scheme 'hu' v1, but scheme 'ogb' v1 was requested"):
        load_checkpoint(directory, expected_scheme=get_spec("ogb").to_dict())
    newer = {**get_spec("hu").to_dict(), "version": 2}
    with pytest.raises(SchemeMismatchError, match="'hu' v1, but scheme 'hu' v2"):
        load_checkpoint(directory, expected_scheme=newer)
    changed = {**get_spec("hu").to_dict(), "atom_vocab": [121, 3]}
    with pytest.raises(SchemeMismatchError, match="differ in atom_vocab"):
        load_checkpoint(directory, expected_scheme=changed)
    bare = save_checkpoint(tmp_path / "bare", {"encoder": {}}, {})
    with pytest.raises(SchemeMismatchError, match="records no featurization scheme"):
        load_checkpoint(bare, expected_scheme=get_spec("hu").to_dict())
    assert load_checkpoint(bare)[0] == {"encoder": {}}


def test_interrupted_save_leaves_no_loadable_checkpoint(tmp_path, monkeypatch):
    model = small_model()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing config.json")

    # fresh directory: a save killed after the weights were written leaves nothing at all
    monkeypatch.setattr(checkpoint_save, "write_json_atomic", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "ckpt", config_for(), model.state_dict())
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()

    # a process killed outright cannot clean up: its temporary directory is never the checkpoint
    monkeypatch.setattr(checkpoint_save, "write_json_atomic", crash)
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: None)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "ckpt", config_for(), model.state_dict())
    leftovers = list(tmp_path.iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".ckpt.tmp-") and (leftovers[0] / "model.safetensors").is_file()
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_checkpoint(leftovers[0])
    monkeypatch.undo()
    shutil.rmtree(leftovers[0])

    # replacing a checkpoint: a save killed mid-way keeps the old one intact and loadable
    directory = save_checkpoint(tmp_path / "ckpt", config_for(), model.state_dict(), extra={"epoch": 1})
    monkeypatch.setattr(checkpoint_save, "write_json_atomic", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(directory, config_for("ogb"), {"other": torch.zeros(3)}, extra={"epoch": 2})
    monkeypatch.undo()
    config, state_dict, extra = load_checkpoint(directory)
    assert extra == {"epoch": 1} and config == config_for() and torch.equal(state_dict["1.weight"], model.state_dict()["1.weight"])

    # killed at the final rename: the old checkpoint is put back
    real_rename = os.rename

    def rename_fails_into_place(src, dst):
        if Path(src).name.startswith(".ckpt.tmp-"):
            raise OSError("disk vanished")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename_fails_into_place)
    with pytest.raises(OSError, match="disk vanished"):
        save_checkpoint(directory, config_for("ogb"), {"other": torch.zeros(3)}, extra={"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(directory)[2] == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # the temporary directory is cleaned up, the old one moved back


def test_overwrite_replaces_checkpoint_but_not_other_directories(tmp_path):
    directory = save_checkpoint(tmp_path / "ckpt", config_for(), {"a": torch.zeros(2)}, extra={"epoch": 1})
    save_checkpoint(directory, config_for("ogb"), {"b": torch.ones(3)}, extra={"epoch": 2})
    config, state_dict, extra = load_checkpoint(directory, expected_scheme=get_spec("ogb").to_dict())
    assert list(state_dict) == ["b"] and extra == {"epoch": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temporary or old directories left
    other = tmp_path / "results"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(CheckpointError, match="refusing to replace .*not a molssl checkpoint"):
        save_checkpoint(other, config_for(), {})
    assert (other / "notes.txt").read_text() == "keep me"


# --- issue 11: the config is covered by a checksum, non-finite and misfitting weights are refused ------------


def _rewrite_document(directory: Path, edit) -> None:
    document = json.loads((directory / "config.json").read_text())
    edit(document)
    (directory / "config.json").write_text(json.dumps(document, indent=2))


def test_edited_config_or_extra_is_refused(saved):
    directory, _ = saved
    original = (directory / "config.json").read_text()
    _rewrite_document(directory, lambda d: d["config"]["encoder"].update(dropout=0.5))
    with pytest.raises(CheckpointError, match=r"config\.json: the config or extra was changed after saving"):
        load_checkpoint(directory)
    (directory / "config.json").write_text(original)
    _rewrite_document(directory, lambda d: d["extra"]["target_scaler"].update(mean=[0.0]))
    with pytest.raises(CheckpointError, match="changed after saving"):
        load_checkpoint(directory)
    (directory / "config.json").write_text(original)
    _rewrite_document(directory, lambda d: d.update(created="2020-01-01T00:00:00+00:00"))  # not content: still loads
    assert load_checkpoint(directory)[2]["target_scaler"] == {"mean": [0.5], "std": [2.0]}


def test_format_version_1_checkpoints_still_load(tmp_path):
    """A checkpoint written before the config checksum (format 1: no checksum in the weights' metadata)."""
    from safetensors.torch import save_file

    directory = tmp_path / "v1"
    directory.mkdir()
    state = small_model().state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(directory / "model.safetensors"), metadata={"format": "pt"})
    data = (directory / "model.safetensors").read_bytes()
    document = {"format": "molssl-checkpoint", "format_version": 1, "molssl_version": "0.1.0", "created": "2024-01-01T00:00:00+00:00",
                "config": config_for(), "extra": {}, "weights": {"file": "model.safetensors", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}}  # fmt: skip
    (directory / "config.json").write_text(json.dumps(document))
    config, loaded, _ = load_checkpoint(directory)
    assert config == config_for() and torch.equal(loaded["1.weight"], state["1.weight"])
    document["format_version"] = 2  # a format-2 checkpoint without the checksum is damaged, not old
    (directory / "config.json").write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="no config checksum"):
        load_checkpoint(directory)


def _write_raw_weights(directory: Path, tensors: dict) -> None:
    """Replace the weights file (keeping the config checksum in its metadata) and fix the recorded sha256."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    weights = directory / "model.safetensors"
    with safe_open(str(weights), "pt") as fh:
        metadata = fh.metadata()
    save_file(tensors, str(weights), metadata=metadata)
    data = weights.read_bytes()
    _rewrite_document(directory, lambda d: d["weights"].update(sha256=hashlib.sha256(data).hexdigest(), size=len(data)))


def test_non_finite_weights_are_refused_with_their_names(saved, tmp_path):
    directory, model = saved
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["1.weight"][0, 0] = float("nan")
    state["4.bias"][1] = float("inf")
    _write_raw_weights(directory, state)
    with pytest.raises(CheckpointError, match=r"non-finite values \(NaN or infinity\) in 2 tensor\(s\): 1\.weight, 4\.bias"):
        load_checkpoint(directory)
    with pytest.raises(ValueError, match=r"non-finite values \(NaN or infinity\) in 2 tensor\(s\): 1\.weight, 4\.bias"):
        save_checkpoint(tmp_path / "nan", config_for(), state)
    assert not (tmp_path / "nan").exists()


def test_weights_that_do_not_fit_the_model_are_a_checkpoint_error(saved):
    directory, model = saved
    _, state, _ = load_checkpoint(directory)
    target = small_model()
    checkpoint.load_weights(target, state, directory)
    wrong = dict(state)
    wrong["1.weight"] = state["1.weight"].t().contiguous()  # right size, wrong shape
    wrong["extra.weight"] = torch.zeros(1)
    del wrong["4.bias"]
    with pytest.raises(CheckpointError) as info:
        checkpoint.load_weights(target, wrong, directory)
    message = str(info.value)
    assert str(directory) in message and "missing: 4.bias" in message and "unexpected: extra.weight" in message
    assert "1.weight (checkpoint [4, 8], model [8, 4])" in message


def test_missing_config_key_is_a_checkpoint_error_naming_key_and_file(saved):
    directory, _ = saved
    config, _, _ = load_checkpoint(directory)
    with pytest.raises(CheckpointError, match=r"ckpt.config\.json: the checkpoint's config has no 'predictor'"):
        with checkpoint.reading_checkpoint(directory, "the checkpoint's config"):
            config["predictor"]


# --- issue 11: an interrupted replacement is recovered, and leftovers are cleaned ----------------------------


def _interrupted_between_renames(tmp_path: Path) -> Path:
    """The directory a kill between the two renames of a replacement leaves: the old and the new copy, no `ckpt`."""
    directory = save_checkpoint(tmp_path / "ckpt", config_for(), {"w": torch.zeros(2)}, extra={"epoch": 1})
    staged = save_checkpoint(tmp_path / "staged", config_for(), {"w": torch.ones(2)}, extra={"epoch": 2})
    os.rename(directory, tmp_path / ".ckpt.old-1a2b3c4d")
    os.rename(staged, tmp_path / ".ckpt.tmp-5e6f7a8b")
    return directory


def test_load_after_a_kill_between_the_renames_finds_the_new_copy(tmp_path):
    directory = _interrupted_between_renames(tmp_path)
    with pytest.warns(CheckpointRecoveryWarning, match=r"ckpt is missing.*loaded .*\.ckpt\.tmp-5e6f7a8b"):
        config, state, extra = load_checkpoint(directory)
    assert extra == {"epoch": 2} and torch.equal(state["w"], torch.ones(2))
    with pytest.warns(CheckpointRecoveryWarning):
        found = checkpoint.read_checkpoint(directory, newest=True)
    assert found.path.name == ".ckpt.tmp-5e6f7a8b"


def test_complete_checkpoint_wins_over_an_unfinished_save_unless_newest(tmp_path):
    directory = save_checkpoint(tmp_path / "ckpt", config_for(), {"w": torch.zeros(2)}, extra={"epoch": 1})
    staged = save_checkpoint(tmp_path / "staged", config_for(), {"w": torch.ones(2)}, extra={"epoch": 2})
    os.rename(staged, tmp_path / ".ckpt.tmp-5e6f7a8b")  # killed after writing the new copy, before the renames
    assert load_checkpoint(directory)[2] == {"epoch": 1}
    with pytest.warns(CheckpointRecoveryWarning, match="interrupted after writing a newer complete copy"):
        assert checkpoint.read_checkpoint(directory, newest=True).extra == {"epoch": 2}


def test_only_incomplete_leftovers_is_an_error_saying_what_happened(tmp_path):
    directory = _interrupted_between_renames(tmp_path)
    (tmp_path / ".ckpt.tmp-5e6f7a8b" / "config.json").unlink()
    weights = tmp_path / ".ckpt.old-1a2b3c4d" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-3])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(directory)
    message = str(info.value)
    assert "does not exist" in message and "interrupted" in message
    assert ".ckpt.tmp-5e6f7a8b" in message and "config.json is missing" in message
    assert ".ckpt.old-1a2b3c4d" in message and "truncated" in message


def test_a_successful_save_removes_leftovers_of_interrupted_saves(tmp_path):
    directory = _interrupted_between_renames(tmp_path)
    (tmp_path / ".ckpt.tmp-99999999").mkdir()  # a save killed while writing its weights
    (tmp_path / ".ckpt.tmp-99999999" / "model.safetensors").write_bytes(b"partial")
    (tmp_path / ".other.tmp-12345678").mkdir()  # another checkpoint's: not ours to remove
    save_checkpoint(directory, config_for(), {"w": torch.full((2,), 3.0)}, extra={"epoch": 3})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-12345678", "ckpt"]
    assert load_checkpoint(directory)[2] == {"epoch": 3}


def test_a_damaged_checkpoint_can_be_saved_over(saved):
    directory, model = saved
    (directory / "config.json").unlink()  # a checkpoint's own files only: replaceable, unlike other folders
    save_checkpoint(directory, config_for(), model.state_dict(), extra={"epoch": 9})
    assert load_checkpoint(directory)[2] == {"epoch": 9}


def test_a_save_never_removes_the_staging_copy_of_a_live_concurrent_save(tmp_path):
    """Two processes saving the same checkpoint (e.g. two jobs converting one zoo encoder): only dead owners' copies go."""
    import subprocess
    import sys

    host = __import__("molssl.process_owner", fromlist=["this_host"]).this_host()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        for owner in (live.pid, dead.pid):
            copy = tmp_path / f".ckpt.tmp-{owner}@{host}-abcd1234"
            copy.mkdir()
            (copy / "model.safetensors").write_bytes(b"being written")
        save_checkpoint(tmp_path / "ckpt", config_for(), {"w": torch.zeros(2)})
        assert sorted(p.name for p in tmp_path.iterdir()) == [f".ckpt.tmp-{live.pid}@{host}-abcd1234", "ckpt"]
        assert checkpoint.staged_copies(tmp_path / "ckpt")[0].name.startswith(f".ckpt.tmp-{live.pid}@")
    finally:
        live.kill()
        live.wait()


def test_staging_copies_are_named_by_their_process_and_own_leftovers_removed(tmp_path, monkeypatch):

    host = __import__("molssl.process_owner", fromlist=["this_host"]).this_host()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing config.json")

    monkeypatch.setattr(checkpoint_save, "write_json_atomic", crash)
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: None)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "ckpt", config_for(), {"w": torch.zeros(2)})
    monkeypatch.undo()
    (leftover,) = tmp_path.iterdir()
    assert leftover.name.startswith(f".ckpt.tmp-{os.getpid()}@{host}-")
    save_checkpoint(tmp_path / "ckpt", config_for(), {"w": torch.zeros(2)})  # this process's own: not in use any more
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]
