"""A SMILES transformer through PropertyPredictor: same molecules and split as a GIN, save/load, predict, spread."""

from __future__ import annotations

import numpy as np
import pytest

from molssl.tasks.predictor import PropertyPredictor
from molssl.text.encoder import SmilesTransformerConfig
from molssl.text.invariance import prediction_spread
from tests.conftest import moleculenet_head

FAST = {"epochs": 2, "batch_size": 32, "lr": 1e-3, "seeds": (0,)}


@pytest.fixture(scope="module")
def bbbp(tmp_path_factory):
    return moleculenet_head("bbbp", 240, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def fitted(bbbp):
    return PropertyPredictor(encoder="smiles_transformer", dim=32, depth=1, heads=2, max_length=96, device="cpu").fit(bbbp, **FAST)


def test_fits_on_the_same_molecules_and_split_as_a_gin(bbbp, fitted):
    gin = PropertyPredictor(encoder="gin", num_layers=2, emb_dim=32, device="cpu").fit(bbbp, **{**FAST, "epochs": 1})
    assert fitted.info_["split"] == gin.info_["split"]
    text_rows = fitted.fit_predictions_[["smiles", "split"]]
    assert text_rows.equals(gin.fit_predictions_[["smiles", "split"]])
    assert isinstance(fitted.model_.config.encoder, SmilesTransformerConfig)
    metric = fitted.metrics_["test_at_best_valid"]["mean"]
    assert metric is not None and 0.0 <= metric <= 1.0
    # without stereo marks the graph model is invariant to how a molecule is written (up to float summation order;
    # RDKit's CW/CCW chiral tags, which the hu scheme features, depend on the atom order); the text model is not
    smiles = [s for s in gin.fit_predictions_["smiles"] if not set("@/\\") & set(s)][:20]
    assert prediction_spread(gin, smiles, views=3).per_task["p_np"]["max_range"] < 1e-6
    assert prediction_spread(fitted, smiles, views=3).per_task["p_np"]["max_range"] > 1e-4


def test_save_load_predict_round_trip(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    loaded = PropertyPredictor.load(path, device="cpu")
    smiles = ["CC(C)NCC(O)COc1cccc2ccccc12", "N[C@@H](C)C(=O)O", "not a smiles"]
    a, b = fitted.predict(smiles), loaded.predict(smiles)
    np.testing.assert_allclose(a["p_np"].to_numpy(), b["p_np"].to_numpy(), equal_nan=True)
    assert a["error"].iloc[2] and np.isnan(a["p_np"].iloc[2]) and not a["error"].iloc[0]


def test_prediction_spread_over_randomized_smiles(fitted):
    smiles = ["CC(C)NCC(O)COc1cccc2ccccc12", "N[C@@H](C)C(=O)O", "c1ccccc1CCN", "C1CC"]
    report = prediction_spread(fitted, smiles, views=4)
    assert report.molecules == 3 and 3 in report.skipped and report.values.shape == (3, 5, 1)
    stats = report.per_task["p_np"]
    assert stats["mean_std"] > 0  # a text model sees different strings
    assert 0.0 <= stats["flip_rate"] <= 1.0


def test_embed_cli_gives_the_models_pooled_vectors(fitted, tmp_path):
    import torch

    from molssl.cli.main import main
    from molssl.text.inputs import TokenizedMolecules

    model_dir = fitted.save(tmp_path / "model")
    out = tmp_path / "emb.npy"
    assert main(["embed", str(model_dir), "--smiles", "CCO", "C1CC", "N[C@@H](C)C(=O)O", "--out", str(out), "--device", "cpu"]) == 0
    values = np.load(out)
    assert values.shape == (3, 32) and np.isnan(values[1]).all() and np.isfinite(values[[0, 2]]).all()
    batch = TokenizedMolecules(["CCO", "N[C@@H](C)C(=O)O"], fitted.model_.config.encoder).collate(np.arange(2))
    with torch.no_grad():
        expected = fitted.model_.eval().embed(batch).numpy()
    np.testing.assert_allclose(values[[0, 2]], expected, rtol=1e-5, atol=1e-6)
