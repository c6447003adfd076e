"""A MoleculeNet name takes the same options as a file: --targets picks tasks, --task-type is checked, none is ignored."""

from __future__ import annotations

import numpy as np
import pytest

from molssl.data.labeled_source import load_labeled_table


def test_targets_select_tasks_of_a_moleculenet_set():
    full = load_labeled_table("sider", None, None, None)
    two = load_labeled_table("sider", None, ["Eye disorders", "Investigations"], None)
    assert two.task_names == ("Eye disorders", "Investigations") and two.labels.shape == (len(full.smiles), 2)
    j = full.task_names.index("Investigations")
    np.testing.assert_array_equal(two.labels[:, 1], full.labels[:, j])
    with pytest.raises(ValueError, match=r"sider: no task 'bogus'; its tasks: Hepatobiliary disorders, .*Eye disorders"):
        load_labeled_table("sider", None, ["bogus"], None)


def test_a_declared_task_type_is_checked_and_a_smiles_column_refused_for_a_moleculenet_set():
    esol = load_labeled_table("esol", None, None, "regression")
    assert esol.task_type == "regression"
    with pytest.raises(ValueError, match=r"is not 0 or 1"):
        load_labeled_table("esol", None, None, "classification")
    as_regression = load_labeled_table("bbbp", None, None, "regression")
    assert as_regression.task_type == "regression" and as_regression.task_type_reason.startswith("declared")
    with pytest.raises(ValueError, match=r"bbbp: a MoleculeNet set brings its own SMILES column"):
        load_labeled_table("bbbp", "SMILES", None, None)
