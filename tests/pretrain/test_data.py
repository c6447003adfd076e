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


def test_unfeaturizable_rows_are_reported_not_dropped_silently(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MOLSSL_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "mols.smi"
    src.write_text("smiles\nCCO\nC1CC(\nc1ccccc1\n")
    with caplog.at_level("WARNING"):
        data = unlabeled_data(src)
    assert len(data.graphs) == 2 and data.description["skipped"] == 1
    assert "1 row(s) could not be featurized" in caplog.text and "mols.smi" in caplog.text and "'C1CC('" in caplog.text
    labeled = tmp_path / "labeled.csv"
    labeled.write_text("smiles,y\nCCO,1\nC1CC(,0\nc1ccccc1,0\n")
    data = labeled_data(labeled)
    assert data.description["skipped_rows"][0]["smiles"] == "C1CC(" and len(data.graphs) == 2
