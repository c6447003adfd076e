"""What a pretraining run reads: labeled data keeps every label, regression targets standardized."""

from __future__ import annotations

import numpy as np
import pytest

from molssl.pretrain.data import labeled_data, unlabeled_data
from tests.conftest import MOLECULENET


def test_regression_labels_are_standardized_and_recorded():
    data = labeled_data(MOLECULENET / "esol.csv")
    assert data.task_type == "regression" and data.targets.shape == (len(data.graphs), 1)
    assert abs(float(np.nanmean(data.targets))) < 1e-5 and abs(float(np.nanstd(data.targets)) - 1) < 1e-4
    assert set(data.description["standardized"]) == {"mean", "std"}


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.smi"):
        unlabeled_data(tmp_path / "nothere.smi")
