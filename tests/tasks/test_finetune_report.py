"""The per-task test report on real multi-task labels (SIDER), against per-task computations by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from molssl.tasks.finetune_report import format_report, score_test_split
from molssl.tasks.fit_outputs import format_skipped
from molssl.chem.errors import SkippedRow
from tests.conftest import MOLECULENET


def test_tasks_without_both_classes_are_named_with_the_reason_and_left_out_of_the_mean():
    sider = pd.read_csv(MOLECULENET / "sider.csv").iloc[:60]
    tasks = [c for c in sider.columns if c != "smiles"]
    labels = sider[tasks].to_numpy(dtype=float)
    test = np.arange(40, 60)
    one_class = [t for j, t in enumerate(tasks) if np.unique(labels[test, j]).size < 2]
    assert one_class  # 20 molecules leave some SIDER tasks with one class only
    rng = np.random.default_rng(0)
    outputs = rng.normal(size=(2, len(test), len(tasks)))  # two seeds' logits
    report = score_test_split("classification", tasks, labels, (np.arange(30), np.arange(30, 40), test), outputs, None)
    assert sorted(report["excluded"]["roc_auc"]) == sorted(one_class)
    first = one_class[0]
    value = labels[test, tasks.index(first)][0]
    assert report["excluded"]["roc_auc"][first] == f"only {int(value)}s (20 labels)"
    scored = [j for j, t in enumerate(tasks) if t not in one_class]
    per_seed = [np.mean([roc_auc_score(labels[test, j], outputs[s, :, j]) for j in scored]) for s in range(2)]
    np.testing.assert_allclose(report["metrics"]["roc_auc"]["per_seed"], per_seed, rtol=1e-12)
    assert report["metrics"]["roc_auc"]["std"] == pytest.approx(np.std(per_seed, ddof=1))
    assert report["per_task"][first]["roc_auc"]["mean"] is None
    lines = format_report(report, 2)
    assert any(line.startswith(f"  roc_auc left out {len(one_class)} of {len(tasks)} task(s) from its mean: ") for line in lines)
    assert report["baseline"] is None


def test_skipped_rows_are_summarized_for_a_terminal():
    rows = [SkippedRow(index=i, smiles="C1CC", reason="SMILES syntax error: unclosed ring") for i in range(7)]
    text = format_skipped(rows, 300)
    assert text.startswith("skipped 7 of 300 molecules; row 0: 'C1CC': SMILES syntax error: unclosed ring; row 1:")
    assert text.endswith("; ... (2 more)") and "row 5" not in text
