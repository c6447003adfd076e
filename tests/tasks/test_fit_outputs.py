"""A new user's loop on real molecules: per-task metrics, ensembles with uncertainty, calibration, domain,
multiclass, SD input with IDs kept, salts stripped, and the run files (small models, few epochs)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from rdkit import Chem

from molssl.tasks.finetune_report import format_report, score_test_split
from molssl.tasks.fit_outputs import write_fit_outputs
from molssl.tasks.predictor import PropertyPredictor
from tests.conftest import MOLECULENET
from tests.data.test_sdf import write_sdf

SMALL = {"num_layers": 2, "emb_dim": 32, "device": "cpu"}


@pytest.fixture(scope="module")
def bbbp_with_ids(tmp_path_factory):
    frame = pd.read_csv(MOLECULENET / "bbbp.csv").iloc[:200]
    frame.insert(0, "compound_id", [f"BBBP-{i:04d}" for i in range(len(frame))])
    path = tmp_path_factory.mktemp("data") / "bbbp_ids.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def ensemble(bbbp_with_ids):
    return PropertyPredictor(encoder="gin", **SMALL).fit(bbbp_with_ids, epochs=2, seeds=(0, 1, 2), ensemble=True,
                                                         standardize="largest_fragment")


def test_id_column_is_kept_not_a_target_and_the_task_type_is_explained(ensemble, bbbp_with_ids):
    assert ensemble.task_names == ("p_np",)
    assert ensemble.info_["task_type"] == "classification (detected: every observed label is 0 or 1)"
    frame = ensemble.fit_predictions_
    assert list(frame.columns[:4]) == ["smiles", "parent_smiles", "compound_id", "split"]
    assert frame["compound_id"].iloc[0] == "BBBP-0000"
    assert {"p_np_true", "p_np", "p_np_std", "p_np_calibrated", "domain"} <= set(frame.columns)
    assert (frame.loc[frame["split"] == "train", "domain"] == "").all()  # training molecules define the domain
    assert sorted(frame["split"].value_counts().index) == ["test", "train", "valid"]
    # salts were reduced to their parent, and the model says so; the SMILES column is the file's, as predict's is
    assert ensemble.info_["standardize"] == "largest_fragment" and ensemble.info_["standardized"]
    assert not any("." in s for s in frame["parent_smiles"]) and any("." in s for s in frame["smiles"])
    given = pd.read_csv(bbbp_with_ids).set_index("compound_id")["smiles"]
    assert (frame["smiles"].to_numpy() == given.loc[frame["compound_id"]].to_numpy()).all()


def test_per_task_metrics_match_the_protocol_and_one_seed_has_no_spread(ensemble):
    report = ensemble.metrics_["test_report"]
    roc = report["metrics"]["roc_auc"]
    # the protocol's own test-at-best-valid numbers, recomputed from the kept models
    np.testing.assert_allclose(roc["per_seed"], [s["test_at_best"] for s in ensemble.metrics_["per_seed"]], rtol=1e-6)
    assert report["per_task"]["p_np"]["roc_auc"]["mean"] == pytest.approx(roc["mean"])
    assert set(report["metrics"]) == {"roc_auc", "pr_auc"} and 0 <= report["ensemble"]["roc_auc"] <= 1
    one = score_test_split("classification", ["p_np"], np.array([[0.0], [1.0], [0.0], [1.0]]), (np.arange(4),) * 3,
                           np.array([[[-1.0], [1.0], [0.5], [0.0]]]), None)  # fmt: skip
    assert one["metrics"]["roc_auc"] == {"mean": 0.75, "std": None, "per_seed": [0.75]}
    assert "+-" not in format_report(one, 1)[0]


def test_ensemble_predictions_spread_calibration_domain_survive_save_and_load(ensemble, tmp_path):
    assert len(ensemble.members_) == 3 and ensemble.info_["calibration"]["temperatures"][0] > 0
    smiles = ["CC(C)NCC(O)COc1cccc2ccccc12.Cl", "CC(C)NCC(O)COc1cccc2ccccc12", "C[Se]C", "not a smiles"]
    before = ensemble.predict(smiles)
    ensemble.save(tmp_path / "model")
    loaded = PropertyPredictor.load(tmp_path / "model", device="cpu")
    after = loaded.predict(smiles)
    pd.testing.assert_frame_equal(before, after)
    # the salt is predicted as its parent: the same graph, at another position in the batch (float32 sums in
    # another order: equal to about 1e-7, not to the bit)
    assert after.loc[0, "p_np"] == pytest.approx(after.loc[1, "p_np"], rel=1e-5)
    assert after.loc[0, "smiles"] == smiles[0] and after.loc[0, "parent_smiles"] == Chem.MolToSmiles(Chem.MolFromSmiles(smiles[1]))
    members = np.array([PropertyPredictor.load(tmp_path / "model", device="cpu").members_[i] is not None for i in range(3)])
    assert members.all() and after.loc[1, "p_np_std"] > 0
    assert "element(s) not in training: Se" in after.loc[2, "domain"] and after.loc[1, "domain"] == ""
    pd.DataFrame({"compound_id": ["A", "B"], "smiles": smiles[:2]}).to_csv(tmp_path / "new.csv", index=False)
    assert list(loaded.predict_file(tmp_path / "new.csv").columns[:3]) == ["smiles", "parent_smiles", "compound_id"]
    assert after.loc[3, "error"] != "" and np.isnan(after.loc[3, "p_np"])


def test_run_files_metrics_plot_predictions_skipped(ensemble, tmp_path):
    written = write_fit_outputs(ensemble, tmp_path / "run")
    metrics = json.loads(written["metrics"].read_text())
    assert metrics["metrics"]["test_report"]["per_task"]["p_np"]["test_labels"] > 0
    with Image.open(written["learning_curve"]) as image:
        assert image.size[0] > 300
    table = pd.read_csv(written["predictions"])
    assert len(table) == len(ensemble.fit_predictions_) and "compound_id" in table


def test_multiclass_from_esol_bins_with_accuracy_f1_and_baseline(tmp_path):
    frame = pd.read_csv(MOLECULENET / "esol.csv").iloc[:240]
    frame["solubility_class"] = np.digitize(frame["logp"], [-4.0, -2.0])  # 0 insoluble, 1 moderate, 2 soluble
    path = tmp_path / "esol_classes.csv"
    frame[["smiles", "solubility_class"]].to_csv(path, index=False)
    predictor = PropertyPredictor(encoder="gin", **SMALL).fit(path, epochs=3, seeds=(0,), split="random")
    assert predictor.model_.config.task_type == "multiclass" and predictor.model_.config.num_classes == 3
    assert predictor.info_["task_type"].startswith("multiclass (detected: every observed label is an integer 0..2")
    report = predictor.metrics_["test_report"]
    assert set(report["metrics"]) == {"roc_auc_ovr", "accuracy", "macro_f1"}
    assert report["baseline"]["accuracy"]["mean"] is not None and predictor.metrics_["metric"] == "roc_auc_ovr"
    out = predictor.predict(["CCO", "c1ccc2ccccc2c1", "C1CC"])
    assert str(out["solubility_class"].dtype) == "Int64" and out["solubility_class"].isna().tolist() == [False, False, True]
    assert out.to_csv(index=False).splitlines()[1].split(",")[1] in ("0", "1", "2")  # a class, not "2.0"
    out = out.iloc[:2]
    probs = out[[f"solubility_class_prob_{c}" for c in range(3)]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert (out["solubility_class"].to_numpy() == probs.argmax(axis=1)).all()


def test_regression_from_an_sd_file_reports_rmse_mae_r2_and_the_training_mean_baseline(tmp_path):
    sdf = write_sdf(tmp_path / "esol.sdf", pd.read_csv(MOLECULENET / "esol.csv").iloc[:160])
    predictor = PropertyPredictor(encoder="gin", **SMALL).fit(sdf, epochs=2, seeds=(0,), split="random")
    report = predictor.metrics_["test_report"]
    assert set(report["metrics"]) == {"rmse", "mae", "r2"} and report["metrics"]["rmse"]["std"] is None
    labels = predictor.fit_predictions_
    train_mean = labels.loc[labels["split"] == "train", "logS_true"].mean()
    test = labels.loc[labels["split"] == "test", "logS_true"]
    assert report["baseline"]["rmse"]["mean"] == pytest.approx(float(np.sqrt(((test - train_mean) ** 2).mean())))
    assert any("baseline (predict the training mean" in line for line in format_report(report, 1))
    frame = predictor.predict_file(sdf)
    # the input's own logS field is kept beside the prediction of the same name
    assert list(frame.columns[:5]) == ["smiles", "name", "input_logS", "note", "logS"] and frame.loc[7, "name"] == "ESOL-7"
    assert frame["input_logS"].astype(float).tolist() == pytest.approx(labels["logS_true"].tolist())
