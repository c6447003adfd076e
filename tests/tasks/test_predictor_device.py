"""PropertyPredictor's device ownership (issue 15): batches follow the model's device in fit and predict.

The CPU tests record every batch move (``Batch.to``) on real BBBP molecules; the GPU-marked test fits
and predicts on CUDA where it exists and checks the result against the same model on the CPU.
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch_geometric.data.data import BaseData

from molssl.tasks.predictor import PropertyPredictor
from tests.conftest import moleculenet_head

TINY = {"num_layers": 2, "emb_dim": 16}
SMILES = ["CCO", "c1ccccc1N", "not a smiles", "CC(=O)Oc1ccccc1C(=O)O", "[Na+].[Cl-]"]


@pytest.fixture(scope="module")
def bbbp_csv(tmp_path_factory):
    return moleculenet_head("bbbp", 240, tmp_path_factory.mktemp("data"))


@pytest.fixture
def moves(monkeypatch) -> list[torch.device]:
    """Every device a batch (any PyG ``Data``/``Batch``) is moved to while the test runs."""
    seen: list[torch.device] = []
    original = BaseData.to

    def recording_to(self, device, *args, **kwargs):
        seen.append(torch.device(device))
        return original(self, device, *args, **kwargs)

    monkeypatch.setattr(BaseData, "to", recording_to)
    return seen


def test_fit_and_predict_move_every_batch_to_the_model_device(bbbp_csv, moves):
    predictor = PropertyPredictor(encoder="gin", device="cpu", **TINY)
    assert predictor.device == torch.device("cpu")
    predictor.fit(bbbp_csv, epochs=1, seeds=(0,), batch_size=32)
    fitted_moves = len(moves)
    assert fitted_moves > 0 and set(moves) == {torch.device("cpu")}  # training and scoring batches
    frame = predictor.predict(SMILES, batch_size=2)
    # 4 molecules featurize (one SMILES is invalid): two prediction batches of 2, each moved once
    assert moves[fitted_moves:] == [torch.device("cpu")] * 2
    assert frame["p_np"].notna().tolist() == [True, True, False, True, True]
    assert all(p.device.type == "cpu" for p in predictor.model_.parameters())


def test_auto_device_and_a_missing_cuda_device():
    expected = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert PropertyPredictor(encoder="gin", device="auto", **TINY).device == expected
    assert PropertyPredictor(encoder="gin", **TINY).device == expected  # auto is the default
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        PropertyPredictor(encoder="gin", device="gpu", **TINY)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):  # refused at construction, before any work
            PropertyPredictor(encoder="gin", device="cuda", **TINY)


def test_load_puts_the_model_on_the_asked_device(bbbp_csv, tmp_path):
    predictor = PropertyPredictor(encoder="gin", device="cpu", **TINY).fit(bbbp_csv, epochs=1, seeds=(0,), batch_size=32)
    predictor.save(tmp_path / "model")
    loaded = PropertyPredictor.load(tmp_path / "model", device="cpu")
    assert loaded.device == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in loaded.model_.parameters())
    pd.testing.assert_frame_equal(loaded.predict(SMILES), predictor.predict(SMILES))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; this machine has none")
def test_fit_and_predict_on_cuda(bbbp_csv, tmp_path, moves):
    """On a GPU: fit trains there (every batch moved to it), predictions come back as CPU numbers, and the
    same weights loaded on the CPU predict the same probabilities to float tolerance."""
    predictor = PropertyPredictor(encoder="gin", device="cuda", **TINY).fit(bbbp_csv, epochs=2, seeds=(0,), batch_size=32)
    assert moves and {d.type for d in moves} == {"cuda"}
    assert all(p.device.type == "cuda" for p in predictor.model_.parameters())
    on_gpu = predictor.predict(SMILES)
    predictor.save(tmp_path / "model")
    on_cpu = PropertyPredictor.load(tmp_path / "model", device="cpu").predict(SMILES)
    assert on_gpu["error"].tolist() == on_cpu["error"].tolist()
    assert on_gpu["p_np"].to_numpy() == pytest.approx(on_cpu["p_np"].to_numpy(), abs=1e-4, nan_ok=True)
    assert PropertyPredictor.load(tmp_path / "model", device="auto").device.type == "cuda"
