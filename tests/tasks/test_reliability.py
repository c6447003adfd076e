"""Issue 11: fine-tuning and saved predictors under undefined metrics, damaged checkpoints and interrupted saves."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import molssl.checkpoint as checkpoint
from molssl.checkpoint import CheckpointError, save_checkpoint
from molssl.tasks.finetune import FinetuneResult
from molssl.tasks.seed_run import SeedResult
from molssl.tasks.model import PredictorConfig, PropertyModel, frozen_modules_eval, set_trainable
from molssl.tasks.predictor import PropertyPredictor
from tests.conftest import MOLECULENET, moleculenet_head

SMALL = {"num_layers": 2, "emb_dim": 32}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> PropertyPredictor:
    path = moleculenet_head("bbbp", 240, tmp_path_factory.mktemp("data"))
    return PropertyPredictor(**SMALL).fit(path, epochs=1, batch_size=64)


def _head(tmp_path: Path, name: str, rows: int) -> Path:
    path = tmp_path / name
    pd.read_csv(MOLECULENET / name).iloc[:rows].to_csv(path, index=False)
    return path


# --- undefined metrics -----------------------------------------------------------------------------------


def test_a_part_without_any_scoreable_task_is_refused_before_training(tmp_path):
    data = _head(tmp_path, "bbbp.csv", 60)  # the scaffold split's test part: 6 molecules, all p_np = 1
    epochs = []
    with pytest.raises(ValueError, match=r"bbbp\.csv: the test part \(6 molecules\) has no task roc_auc can score.*'p_np': only 1s"):
        PropertyPredictor(**SMALL).fit(data, epochs=2, progress=epochs.append)
    assert epochs == []  # refused before the first epoch


def test_tasks_unscoreable_in_a_part_are_named_in_a_warning(tmp_path, caplog):
    data = tmp_path / "two_tasks.csv"
    frame = pd.read_csv(MOLECULENET / "bbbp.csv").iloc[:240].copy()
    frame["constant"] = 1  # a second task with one class everywhere: scored nowhere, named, not fatal
    frame.to_csv(data, index=False)
    epochs: list[dict] = []
    with caplog.at_level("WARNING", logger="molssl.tasks.finetune"):
        predictor = PropertyPredictor(**SMALL).fit(data, epochs=1, target_columns=["p_np", "constant"], progress=epochs.append)
    assert "train part" in caplog.text and "'constant': only 1s" in caplog.text
    assert len(epochs) == 1 and math.isfinite(predictor.metrics_["test_at_best_valid"]["mean"])


def test_undefined_metrics_are_saved_as_null_with_a_warning(fitted, tmp_path):
    history = [{"seed": 0, "epoch": 1, "loss": 0.7, "train": None, "valid": 0.61, "test": math.nan}]
    result = FinetuneResult("roc_auc", True, [SeedResult(0, 1, 0.61, math.nan, 0.61, math.nan, history),
                                              SeedResult(1, 1, 0.64, 0.7, 0.64, 0.7, history)])  # fmt: skip
    with pytest.warns(RuntimeWarning, match=r"roc_auc was undefined .*test_at_best_valid.*saved as null"):
        summary = result.summary()
    assert summary["test_at_best_valid"] == {"mean": None, "std": None}
    assert summary["valid_at_best_valid"]["mean"] == pytest.approx(0.625)
    assert summary["per_seed"][0]["test_at_best"] is None and summary["per_seed"][0]["history"][0]["test"] is None
    fitted.metrics_, before = summary, fitted.metrics_
    try:
        directory = fitted.save(tmp_path / "m")
    finally:
        fitted.metrics_ = before
    assert json.loads((directory / "config.json").read_text())["extra"]["metrics"]["test_at_best_valid"]["mean"] is None


def test_nan_valid_score_never_becomes_the_best_epoch():
    from molssl.tasks.seed_run import improves
    from molssl.eval.metrics import get_metric

    auc, rmse = get_metric("roc_auc"), get_metric("rmse")
    assert improves(auc, 0.6, None) and improves(auc, 0.6, math.nan) and not improves(auc, math.nan, 0.6)
    assert improves(rmse, 1.0, math.nan) and not improves(rmse, math.nan, math.nan) and not improves(rmse, 2.0, 1.0)


# --- damaged and interrupted saved models ------------------------------------------------------------------


def test_missing_predictor_key_is_a_checkpoint_error(fitted, tmp_path):
    model = fitted.model_
    save_checkpoint(tmp_path / "m", {"kind": "property_predictor", "scheme": model.config.encoder.scheme.to_dict()}, model.state_dict())
    with pytest.raises(CheckpointError, match=r"m.config\.json: the property predictor's config has no 'predictor'"):
        PropertyPredictor.load(tmp_path / "m")


def test_weights_of_the_wrong_shape_are_a_checkpoint_error_listing_them(fitted, tmp_path):
    model = fitted.model_
    state = dict(model.state_dict())
    square = [k for k, v in state.items() if v.dim() == 2 and v.shape[0] != v.shape[1]][0]
    state[square] = state[square].t().contiguous()  # same size, other shape
    config = {"kind": "property_predictor", "scheme": model.config.encoder.scheme.to_dict(), "predictor": model.config.to_dict()}
    save_checkpoint(tmp_path / "m", config, state, extra={"target_scaler": None, "metrics": None, "info": {}})
    with pytest.raises(CheckpointError, match=rf"wrong shape: {square.replace('.', '[.]')} \(checkpoint"):
        PropertyPredictor.load(tmp_path / "m")


def test_edited_readout_and_nan_weights_are_refused(fitted, tmp_path):
    directory = fitted.save(tmp_path / "m")
    document = json.loads((directory / "config.json").read_text())
    original = json.dumps(document)
    document["config"]["predictor"]["readout"] = "sum"
    (directory / "config.json").write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="changed after saving"):
        PropertyPredictor.load(directory)
    (directory / "config.json").write_text(original)
    document = json.loads(original)
    from safetensors import safe_open
    from safetensors.torch import save_file

    weights = directory / "model.safetensors"
    with safe_open(str(weights), "pt") as fh:
        metadata, tensors = fh.metadata(), {k: fh.get_tensor(k) for k in fh.keys()}
    tensors["head.weight"][0, 0] = float("nan")
    save_file(tensors, str(weights), metadata=metadata)
    data = weights.read_bytes()
    document["weights"].update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    (directory / "config.json").write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match=r"non-finite values .* in 1 tensor\(s\): head\.weight"):
        PropertyPredictor.load(directory)


def test_save_over_a_model_killed_between_the_renames_loads_the_complete_copy(fitted, tmp_path, monkeypatch):
    directory = fitted.save(tmp_path / "m")
    before = fitted.predict(["CCO", "c1ccccc1O"])
    real_rename = os.rename

    def killed_before_second_rename(src, dst):
        if Path(src).name.startswith(".m.tmp-") or Path(dst) == directory:
            raise KeyboardInterrupt("SIGKILL between the renames")  # and the old copy is not moved back
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", killed_before_second_rename)
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: None)  # a killed process cleans nothing
    fitted.info_ = {**fitted.info_, "note": "second save"}
    with pytest.raises(KeyboardInterrupt):
        fitted.save(directory)
    monkeypatch.undo()
    assert not directory.exists() and len(list(tmp_path.glob(".m.*"))) == 2
    with pytest.warns(checkpoint.CheckpointRecoveryWarning, match=r"m is missing; loaded the complete copy .*\.m\.tmp-"):
        loaded = PropertyPredictor.load(directory)
    assert loaded.info_["note"] == "second save"
    pd.testing.assert_frame_equal(loaded.predict(["CCO", "c1ccccc1O"]), before)
    fitted.save(directory)  # the next save puts the model back in place and removes both leftovers
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


# --- frozen encoders ---------------------------------------------------------------------------------------


def test_linear_probe_runs_the_frozen_encoder_in_eval_mode(fitted):
    from molssl.chem.featurize import featurize_many
    from molssl.data.loader import StoreLoader

    config = PredictorConfig(encoder={**fitted.encoder_config.to_dict(), "dropout": 0.5})
    model = PropertyModel(config)
    set_trainable(model, "linear_probe")
    model.train()
    frozen_modules_eval(model)
    batch = next(iter(StoreLoader(featurize_many(["CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O"], scheme="hu").graphs, batch_size=3)))
    with torch.no_grad():
        first, second = model.encoder(batch), model.encoder(batch)
    assert torch.equal(first, second)  # no dropout on frozen features
    assert not model.encoder.training and model.head.training
    set_trainable(model, "full")
    model.train()
    frozen_modules_eval(model)
    with torch.no_grad():
        assert not torch.equal(model.encoder(batch), model.encoder(batch))  # full fine-tuning keeps its dropout
