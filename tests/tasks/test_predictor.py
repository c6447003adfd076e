"""PropertyPredictor and the fine-tuning protocol on real molecules (small models, few epochs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from molssl.checkpoint import CheckpointError, SchemeMismatchError
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.nn.pretrained import save_encoder
from molssl.tasks.finetune import FinetuneConfig
from molssl.tasks.predictor import PropertyPredictor
from tests.conftest import MOLECULENET

SMALL = {"num_layers": 2, "emb_dim": 32}


@pytest.fixture(scope="module")
def bbbp_csv(tmp_path_factory):
    frame = pd.read_csv(MOLECULENET / "bbbp.csv").iloc[:240]
    path = tmp_path_factory.mktemp("data") / "bbbp_small.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted(bbbp_csv):
    return PropertyPredictor(encoder="gin", **SMALL).fit(bbbp_csv, epochs=3, seeds=(0, 1), batch_size=32)


def test_fit_reports_protocol_numbers(fitted):
    m = fitted.metrics_
    assert m["metric"] == "roc_auc" and m["num_seeds"] == 2
    for seed in m["per_seed"]:
        history = seed["history"]
        assert len(history) == 3
        best = max(history, key=lambda r: r["valid"])
        assert seed["best_epoch"] == best["epoch"] and seed["test_at_best"] == best["test"]
        assert seed["test_at_last"] == history[-1]["test"]
    tests = [s["test_at_best"] for s in m["per_seed"]]
    assert m["test_at_best_valid"]["mean"] == pytest.approx(np.mean(tests))
    assert m["test_at_best_valid"]["std"] == pytest.approx(np.std(tests, ddof=1))
    assert fitted.info_["split"]["sizes"] == [192, 24, 24]


def test_save_load_predict_identical(fitted, tmp_path):
    smiles = ["CCO", "C1CC(", "c1ccccc1N", "", "CC(=O)Oc1ccccc1C(=O)O"]
    before = fitted.predict(smiles)
    fitted.save(tmp_path / "m")
    loaded = PropertyPredictor.load(tmp_path / "m")
    after = loaded.predict(smiles)
    pd.testing.assert_frame_equal(before, after)
    # a classifier also gives its calibrated probability and the training-domain flag
    assert list(after.columns) == ["smiles", "p_np", "p_np_calibrated", "domain", "error"]
    assert after["smiles"].tolist() == smiles  # one row per input, input order
    assert after.loc[[1, 3], "p_np"].isna().all() and after.loc[[0, 2, 4], "p_np"].between(0, 1).all()
    assert "syntax error" in after.loc[1, "error"] and after.loc[3, "error"] == "empty SMILES"
    assert loaded.metrics_ == fitted.metrics_


def test_regression_predictions_are_in_label_units(tmp_path):
    frame = pd.read_csv(MOLECULENET / "esol.csv").iloc[:200]
    path = tmp_path / "esol.csv"
    frame.to_csv(path, index=False)
    predictor = PropertyPredictor(encoder="sage", readout="sum", **SMALL).fit(path, epochs=4, lr=3e-3)
    assert predictor.metrics_["metric"] == "rmse"
    preds = predictor.predict(frame["smiles"].tolist())["logp"].to_numpy()
    # standardized outputs mapped back: the scale of the labels, not of unit-variance targets
    assert abs(preds.mean() - frame["logp"].mean()) < 1.5 * frame["logp"].std()
    predictor.save(tmp_path / "m")
    np.testing.assert_allclose(PropertyPredictor.load(tmp_path / "m").predict(frame["smiles"].tolist())["logp"], preds)


def _pretrained(tmp_path, scheme="hu"):
    torch.manual_seed(123)
    encoder = GNNEncoder(EncoderConfig(scheme=scheme, **SMALL))
    save_encoder(encoder, tmp_path / f"enc-{scheme}", extra={"method": "test"})
    return encoder, tmp_path / f"enc-{scheme}"


def test_linear_probe_from_pretrained_keeps_encoder(bbbp_csv, tmp_path):
    encoder, path = _pretrained(tmp_path)
    predictor = PropertyPredictor(**SMALL).fit(bbbp_csv, pretrained=path, epochs=2, mode="linear_probe")
    got = predictor.model_.encoder.state_dict()
    for name, value in encoder.state_dict().items():
        assert torch.equal(got[name], value), name
    assert predictor.info_["pretrained"] == str(path)


def test_full_finetuning_from_pretrained_moves_encoder(bbbp_csv, tmp_path):
    encoder, path = _pretrained(tmp_path)
    predictor = PropertyPredictor(**SMALL).fit(bbbp_csv, pretrained=path, epochs=1)
    got = predictor.model_.encoder.state_dict()
    ref = encoder.state_dict()
    first_layer = [k for k in ref if k.startswith("convs.0.") and ref[k].dtype.is_floating_point]
    assert first_layer and any(not torch.equal(got[k], ref[k]) for k in first_layer)


def test_last_k_trains_only_last_layers(bbbp_csv, tmp_path):
    encoder, path = _pretrained(tmp_path)
    predictor = PropertyPredictor(**SMALL).fit(bbbp_csv, pretrained=path, epochs=1, mode="last_k", last_k=1)
    got = predictor.model_.encoder.state_dict()
    ref = encoder.state_dict()
    first = [k for k in ref if k.startswith("convs.0.") or k.startswith("atom_embedding.")]
    last = [k for k in ref if k.startswith("convs.1.") and ref[k].dtype.is_floating_point]
    assert all(torch.equal(got[k], ref[k]) for k in first)
    assert any(not torch.equal(got[k], ref[k]) for k in last)


def test_pretrained_scheme_mismatch_is_an_error(bbbp_csv, tmp_path):
    _, path = _pretrained(tmp_path, scheme="ogb")
    with pytest.raises(SchemeMismatchError, match="ogb"):
        PropertyPredictor(scheme="hu", **SMALL).fit(bbbp_csv, pretrained=path, epochs=1)


def test_load_rejects_non_predictor_and_corrupt(tmp_path, fitted):
    _, path = _pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="not a property predictor"):
        PropertyPredictor.load(path)
    fitted.save(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError):
        PropertyPredictor.load(tmp_path / "m")


def test_predict_before_fit_and_bad_config():
    with pytest.raises(RuntimeError, match="call fit"):
        PropertyPredictor().predict(["CCO"])
    with pytest.raises(ValueError, match="valid modes"):
        FinetuneConfig(mode="half")
    with pytest.raises(FileNotFoundError, match="MoleculeNet"):
        PropertyPredictor().fit("no_such_dataset_or_file")


def test_multitask_with_missing_labels(tmp_path):
    frame = pd.read_csv(MOLECULENET / "clintox.csv").iloc[:300].copy()
    frame.loc[::3, "CT_TOX"] = np.nan  # a third of one task unlabeled: masked out of loss and metric
    path = tmp_path / "clintox_missing.csv"
    frame.to_csv(path, index=False)
    predictor = PropertyPredictor(**SMALL).fit(path, epochs=1, batch_size=64)
    assert predictor.task_names == ("FDA_APPROVED", "CT_TOX")
    history = predictor.metrics_["per_seed"][0]["history"]
    assert np.isfinite(history[0]["loss"])


def test_moleculenet_name():
    predictor = PropertyPredictor(**SMALL).fit("freesolv", epochs=1, batch_size=128)
    assert predictor.task_names == ("expt",)
    assert predictor.metrics_["metric"] == "rmse"
