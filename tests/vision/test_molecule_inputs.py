"""Depictions as a fine-tuned image model's inputs: normalized as the encoder recorded, batched with labels, and
read by ``PropertyModel`` through the fine-tuning loop."""

import numpy as np
import pytest
import torch

from molssl.tasks.finetune import FinetuneConfig, finetune
from molssl.tasks.model import ModelFactory, PredictorConfig, PropertyModel
from molssl.vision.depict import depict
from molssl.vision.molecule_inputs import DepictedMolecules
from molssl.vision.resnet import ResNetConfig

SMILES = ["CC(=O)Nc1ccc(O)cc1", "C[N+](C)(C)C.[Cl-]", "c1ccccc1", "CCO", "O=C(O)c1ccccc1O", "CN1CCC[C@H]1c1cccnc1",
          "Clc1ccc(Cl)cc1", "NC(=O)C1CC1"]  # fmt: skip
PREPROCESSING = {"image_size": [32, 32], "channels": 1, "normalization": {"mean": [0.9], "std": [0.25]}}
ENCODER = ResNetConfig(width=4, in_channels=1, small_images=True, blocks=(1, 1, 1, 1))


def test_batches_are_the_depictions_normalized_as_recorded(tmp_path):
    inputs = DepictedMolecules(SMILES, PREPROCESSING, cache=str(tmp_path))
    y = torch.arange(3, dtype=torch.float32).view(3, 1)
    batch = inputs.collate(np.array([2, 0, 5]), {"y": y})
    drawn = depict([SMILES[i] for i in (2, 0, 5)], 32, cache=tmp_path).float() / 255.0
    torch.testing.assert_close(batch.pixels, (drawn - 0.9) / 0.25)
    assert batch.y is y and batch.num_graphs == 3 and len(inputs) == len(SMILES)
    assert inputs.describe()["image_size"] == [32, 32]


def test_bad_molecules_and_preprocessing_are_refused(tmp_path):
    with pytest.raises(ValueError, match="row 1: RDKit cannot read 'C1CC'"):
        DepictedMolecules(["CCO", "C1CC"], PREPROCESSING, cache=str(tmp_path), source="mols.csv")
    with pytest.raises(ValueError, match="square with 1 or 3 channels"):
        DepictedMolecules(["CCO"], {**PREPROCESSING, "image_size": [32, 48]}, cache=str(tmp_path))


def test_a_property_model_fine_tunes_on_depictions(tmp_path):
    inputs = DepictedMolecules(SMILES, PREPROCESSING, cache=str(tmp_path))
    config = PredictorConfig(encoder=ENCODER, task_type="classification", task_names=("y",))
    model = PropertyModel(config)
    assert model(inputs.collate(np.arange(4))).shape == (4, 1)
    labels = np.array([[0.0], [1.0], [0.0], [1.0], [0.0], [1.0], [1.0], [0.0]])
    split = (np.arange(4), np.array([4, 5]), np.array([6, 7]))
    outcome, _ = finetune(ModelFactory(config), inputs, labels, split, FinetuneConfig(epochs=2, batch_size=4))
    first = outcome.seeds[0]
    assert len(first.history) == 2 and first.best_epoch in (1, 2)
    assert all(np.isfinite(h["loss"]) for h in first.history)
