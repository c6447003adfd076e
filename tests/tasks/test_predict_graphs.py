"""Inference outputs: ``model_outputs`` (per colour class for the default GIN) against the model's own
forward, and ``PropertyPredictor.predict`` against featurize -> batch -> forward done by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

import molssl
from molssl.graph.batch import to_batch
from molssl.nn.colour_class_inference import supports
from molssl.nn.encoder import EncoderConfig
from molssl.tasks.model import PredictorConfig, PropertyModel
from molssl.tasks.predict_graphs import model_outputs, predict_graphs
from molssl.tasks.predictor import PropertyPredictor
from tests.conftest import moleculenet_smiles
from tests.nn.test_encoder import warmed_up


def warmed_up_model(config: PredictorConfig, batch) -> PropertyModel:
    """An eval-mode model whose BatchNorm statistics come from real molecules (not the identity)."""
    torch.manual_seed(0)
    model = PropertyModel(config).eval()
    model.encoder.load_state_dict(warmed_up(config.encoder, batch).state_dict())
    return model


@pytest.fixture(scope="module")
def bbbp_batch():
    return to_batch(molssl.featurize_many(moleculenet_smiles("bbbp", 96), scheme="hu").graphs)


@pytest.mark.parametrize("task", [
    {"task_type": "classification", "task_names": ("a", "b")},
    {"task_type": "multiclass", "task_names": ("a",), "num_classes": 3},
    {"task_type": "regression", "task_names": ("y",), "readout": "sum"},
])  # fmt: skip
def test_model_outputs_equal_the_forward_for_the_default_gin(bbbp_batch, task):
    model = warmed_up_model(PredictorConfig(encoder=EncoderConfig(scheme="hu"), **task), bbbp_batch)
    assert supports(model.encoder, model.readout)
    with torch.no_grad():
        expected = model(bbbp_batch)
        got = model_outputs(model, bbbp_batch)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_other_models_run_their_own_forward(bbbp_batch):
    config = PredictorConfig(encoder=EncoderConfig(scheme="hu", conv="gcn", num_layers=2, emb_dim=32))
    model = warmed_up_model(config, bbbp_batch)
    assert not supports(model.encoder, model.readout)
    with torch.no_grad():
        assert torch.equal(model_outputs(model, bbbp_batch), model(bbbp_batch))


def test_predict_equals_featurize_batch_forward_by_hand(bbbp_batch):
    smiles = moleculenet_smiles("bbbp", 96)
    predictor = PropertyPredictor(encoder="gin", scheme="hu")
    predictor.model_ = warmed_up_model(PredictorConfig(encoder=predictor.encoder_config, task_names=("y",)), bbbp_batch)
    frame = predictor.predict(smiles, batch_size=32)
    graphs = [molssl.featurize(s) for s in smiles]
    with torch.no_grad():
        by_hand = torch.sigmoid(predictor.model_(Batch.from_data_list(graphs))).numpy()[:, 0]
    np.testing.assert_allclose(frame["y"].to_numpy(), by_hand, rtol=1e-5, atol=1e-6)
    bf16 = predictor.predict(smiles, batch_size=32, precision="bf16")["y"].to_numpy()  # autocast through the same path
    np.testing.assert_allclose(bf16, by_hand, atol=2e-2)
    graphs_arrays = molssl.featurize_many(smiles, scheme="hu").graphs
    raw = predict_graphs(predictor.model_, graphs_arrays, batch_size=7)  # batches of another size: same values
    np.testing.assert_allclose(1 / (1 + np.exp(-raw[:, 0])), by_hand, rtol=1e-5, atol=1e-6)



def test_predict_on_short_lists_equals_the_plain_forward_bitwise(bbbp_batch):
    """One SMILES and a few: predict's small-batch path and per-call shortcuts (eval check, oneDNN walk once, no
    autocast context in fp32) give exactly the plain forward's values, also after the model was put in train mode."""
    predictor = PropertyPredictor(encoder="gin", scheme="hu")
    predictor.model_ = warmed_up_model(PredictorConfig(encoder=predictor.encoder_config, task_names=("y",)), bbbp_batch)
    smiles = moleculenet_smiles("bbbp", 6)

    def by_hand(batch_smiles: list[str]) -> np.ndarray:
        batch = to_batch(molssl.featurize_many(batch_smiles, scheme="hu").graphs)
        with torch.no_grad():
            logits = predictor.model_.eval()(batch).numpy().astype(np.float64)[:, 0]
        return 1.0 / (1.0 + np.exp(-logits))  # as outputs_to_predictions

    for batch_smiles in ([smiles[0]], [smiles[1]], smiles[2:5]):
        expected = by_hand(batch_smiles)
        assert np.array_equal(predictor.predict(batch_smiles)["y"].to_numpy(), expected)
        predictor.model_.train()  # predict puts it back in eval mode
        assert np.array_equal(predictor.predict(batch_smiles)["y"].to_numpy(), expected)
        assert not predictor.model_.training
        with torch.autocast("cpu", dtype=torch.bfloat16):  # fp32 is exact inside a caller's autocast too
            assert np.array_equal(predictor.predict(batch_smiles)["y"].to_numpy(), expected)
