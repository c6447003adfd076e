"""Metrics against OGB's Evaluator and scikit-learn, on multi-task data with missing labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from ogb.graphproppred import Evaluator
from sklearn.metrics import average_precision_score, mean_absolute_error, mean_squared_error, roc_auc_score

from molssl.eval import METRICS, MetricError, evaluate, get_metric, mae, pr_auc, rmse, roc_auc
from molssl.eval.metrics import score_tasks


def binary_labels(rng: np.random.Generator, n: int, tasks: int, missing: float = 0.3, positive: float = 0.2) -> np.ndarray:
    """[n, tasks] 0/1 labels with NaN for missing, plus the awkward tasks: all negative, all positive,
    all missing, a single observed label, and a task whose only positive is missing."""
    y = (rng.random((n, tasks)) < positive).astype(np.float64)
    y[rng.random((n, tasks)) < missing] = np.nan
    if tasks >= 6:
        y[:, 1] = np.where(np.isnan(y[:, 1]), np.nan, 0.0)  # observed labels all negative
        y[:, 2] = np.where(np.isnan(y[:, 2]), np.nan, 1.0)  # observed labels all positive
        y[:, 3] = np.nan  # nothing observed
        y[:, 4] = np.nan
        y[0, 4] = 1.0  # one observed label
        y[:, 5] = 0.0
        y[0, 5] = np.nan  # only the missing entry would have been the positive
    return y


def per_task(score, y_true: np.ndarray, y_pred: np.ndarray, need_both_classes: bool) -> float:
    values = []
    for t in range(y_true.shape[1]):
        seen = ~np.isnan(y_true[:, t])
        labels = y_true[seen, t]
        if need_both_classes and len(set(labels.tolist())) < 2 or not seen.any():
            continue
        values.append(score(labels, y_pred[seen, t]))
    return float(np.mean(values))


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_equals_ogb_molhiv(seed):
    rng = np.random.default_rng(seed)
    y_true = binary_labels(rng, 300, 1, positive=0.05)
    y_pred = rng.normal(size=(300, 1))
    expected = Evaluator("ogbg-molhiv").eval({"y_true": y_true, "y_pred": y_pred})["rocauc"]
    assert roc_auc(y_true, y_pred) == expected
    assert evaluate("roc_auc", y_true[:, 0], y_pred[:, 0]) == expected  # 1-D is one task
    assert evaluate("rocauc", torch.from_numpy(y_true), torch.from_numpy(y_pred)) == expected  # OGB's name, tensors


@pytest.mark.parametrize("seed", range(3))
def test_multitask_equals_ogb_molpcba_and_tox21(seed):
    rng = np.random.default_rng(seed)
    y_true = binary_labels(rng, 400, 128, missing=0.5, positive=0.03)
    y_pred = rng.normal(size=(400, 128))
    # ties in the scores, which the ranking metrics must break as sklearn does
    y_pred[::7] = np.round(y_pred[::7])
    ap = Evaluator("ogbg-molpcba").eval({"y_true": y_true, "y_pred": y_pred})["ap"]
    assert pr_auc(y_true, y_pred) == ap
    assert pr_auc(y_true, y_pred) == pytest.approx(per_task(average_precision_score, y_true, y_pred, True), rel=1e-12)

    tox_true, tox_pred = y_true[:, :12], y_pred[:, :12]
    auc = Evaluator("ogbg-moltox21").eval({"y_true": tox_true, "y_pred": tox_pred})["rocauc"]
    assert roc_auc(tox_true, tox_pred) == auc
    assert roc_auc(tox_true, tox_pred) == pytest.approx(per_task(roc_auc_score, tox_true, tox_pred, True), rel=1e-12)


def test_single_class_tasks_are_left_out_not_scored():
    y_true = np.array([[0, 0, 1], [1, 0, np.nan], [0, 0, 1], [1, np.nan, 1]], dtype=float)
    y_pred = np.array([[0.1, 0.9, 0.2], [0.8, 0.1, 0.5], [0.3, 0.5, 0.7], [0.2, 0.3, 0.1]])
    # only task 0 has both classes: its AUC (3 of 4 positive-negative pairs ordered right) is the mean
    assert roc_auc(y_true, y_pred) == pytest.approx(0.75)
    assert roc_auc(y_true[:, :1], y_pred[:, :1]) == pytest.approx(0.75)


@pytest.mark.parametrize("seed", range(3))
def test_rmse_equals_ogb_molesol_and_mae_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(size=(200, 1))
    y_true[rng.random(200) < 0.2] = np.nan
    y_pred = y_true + rng.normal(scale=0.5, size=(200, 1))
    y_pred[np.isnan(y_true)] = np.nan  # predictions at missing labels are ignored, even NaN ones
    expected = Evaluator("ogbg-molesol").eval({"y_true": y_true, "y_pred": y_pred})["rmse"]
    assert rmse(y_true, y_pred) == pytest.approx(expected, rel=1e-12)
    seen = ~np.isnan(y_true[:, 0])
    assert mae(y_true, y_pred) == pytest.approx(mean_absolute_error(y_true[seen], y_pred[seen]), rel=1e-12)

    # several tasks, each with its own missing rows: per-task error, then the mean over tasks
    y_true = rng.normal(size=(200, 5))
    y_true[rng.random((200, 5)) < 0.4] = np.nan
    y_pred = rng.normal(size=(200, 5))
    ogb = Evaluator("ogbg-molesol")
    ogb.num_tasks = 5  # OGB's rmse code itself handles several tasks; the catalog just has none
    assert rmse(y_true, y_pred) == pytest.approx(ogb.eval({"y_true": y_true, "y_pred": y_pred})["rmse"], rel=1e-12)
    assert rmse(y_true, y_pred) == pytest.approx(per_task(lambda a, b: math.sqrt(mean_squared_error(a, b)), y_true, y_pred, False), rel=1e-12)
    assert mae(y_true, y_pred) == pytest.approx(per_task(mean_absolute_error, y_true, y_pred, False), rel=1e-12)


def test_regression_leaves_out_tasks_without_labels():
    y_true = np.array([[1.0, np.nan], [3.0, np.nan]])
    y_pred = np.array([[2.0, 0.0], [1.0, 0.0]])
    assert rmse(y_true, y_pred) == pytest.approx(math.sqrt(2.5))
    assert mae(y_true, y_pred) == pytest.approx(1.5)


def test_registry_directions():
    assert METRICS["roc_auc"].higher_is_better and METRICS["pr_auc"].higher_is_better
    assert not METRICS["rmse"].higher_is_better and not METRICS["mae"].higher_is_better
    assert METRICS["rmse"].is_better(0.5, 0.6) and not METRICS["roc_auc"].is_better(0.5, 0.6)
    assert METRICS["roc_auc"].is_better(0.5, METRICS["roc_auc"].worst) and METRICS["mae"].is_better(1e9, METRICS["mae"].worst)
    assert get_metric("ap") is METRICS["pr_auc"]
    with pytest.raises(ValueError, match="unknown metric 'auc'.*mae, pr_auc, r2, rmse, roc_auc"):
        get_metric("auc")
    with pytest.raises(ValueError, match="task_type"):
        type(METRICS["rmse"])("x", rmse, higher_is_better=False, task_type="ranking")


def test_no_task_with_both_classes_is_an_error():
    y_true = np.array([[0, 1], [0, np.nan], [np.nan, 1]], dtype=float)
    y_pred = np.zeros((3, 2))
    for fn in (roc_auc, pr_auc):
        with pytest.raises(MetricError, match="no task has both a positive and a negative label"):
            fn(y_true, y_pred)
    with pytest.raises(RuntimeError, match="No positively labeled data"):  # OGB agrees it is undefined
        Evaluator("ogbg-molhiv").eval({"y_true": y_true[:, :1], "y_pred": y_pred[:, :1]})


def test_input_errors():
    with pytest.raises(MetricError, match=r"y_true has shape \(4, 2\) but y_pred has shape \(4, 3\)"):
        evaluate("rmse", np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(MetricError, match=r"y_true has shape \(4,\) but y_pred has shape \(4, 1\)"):
        evaluate("rmse", np.zeros(4), np.zeros((4, 1)))
    with pytest.raises(MetricError, match="1-D .* or 2-D"):
        evaluate("rmse", np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(MetricError, match="empty"):
        evaluate("rmse", np.zeros((0, 1)), np.zeros((0, 1)))
    with pytest.raises(MetricError, match=r"binary labels.*y_true\[1, 0\] = 2.0"):
        roc_auc(np.array([0.0, 2.0, 1.0]), np.zeros(3))
    with pytest.raises(MetricError, match="row 1, task 0"):
        roc_auc(np.array([0.0, 1.0]), np.array([0.5, np.nan]))
    with pytest.raises(MetricError, match="infinite label"):
        rmse(np.array([0.0, np.inf]), np.zeros(2))
    with pytest.raises(MetricError, match="no observed label"):
        mae(np.full((3, 2), np.nan), np.zeros((3, 2)))
    with pytest.raises(MetricError, match="numeric"):
        rmse(["a", "b"], [1.0, 2.0])


@pytest.mark.parametrize("name", ["roc_auc", "pr_auc"])
def test_order_only_metrics_give_logits_the_value_of_exact_probabilities(name):
    metric = get_metric(name)
    assert metric.order_only and not get_metric("rmse").order_only and not get_metric("mae").order_only
    rng = np.random.default_rng(0)
    y_true = binary_labels(rng, 600, 4, positive=0.3)
    logits = (rng.normal(size=(600, 4)) * 15).astype(np.float32)  # many beyond where float32 probabilities round to 1
    value = metric.fn(y_true, logits)
    assert metric.fn(y_true, 3.0 * logits.astype(np.float64) + 1.0) == value  # any increasing transform: the same
    assert metric.fn(y_true, np.argsort(np.argsort(logits, axis=0), axis=0)) == value  # only the order counts
    float32_probabilities = 1.0 / (1.0 + np.exp(-logits))
    assert metric.fn(y_true, float32_probabilities) != value  # the sigmoid's rounding ties distinct logits


def test_r2_matches_sklearn_per_task_and_skips_constant_tasks():
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(40, 2))
    y_pred = y_true + rng.normal(scale=0.5, size=(40, 2))
    y_true[::3, 1] = np.nan
    rows = ~np.isnan(y_true[:, 1])
    expected = (r2_score(y_true[:, 0], y_pred[:, 0]) + r2_score(y_true[rows, 1], y_pred[rows, 1])) / 2
    assert evaluate("r2", y_true, y_pred) == pytest.approx(expected, rel=1e-12)
    constant = np.column_stack([y_true[:, 0], np.full(40, 2.0)])
    assert evaluate("r2", constant, y_pred) == pytest.approx(r2_score(y_true[:, 0], y_pred[:, 0]), rel=1e-12)
    assert score_tasks("r2", constant, y_pred)[1] == (None, "constant labels (40 labels)")


def test_multiclass_metrics_match_sklearn():
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, size=60).astype(float)
    logits = rng.normal(size=(60, 3)) + 1.5 * np.eye(3)[labels.astype(int)]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = labels.astype(int)
    assert evaluate("accuracy", labels, probs) == pytest.approx(accuracy_score(y, probs.argmax(1)))
    assert evaluate("macro_f1", labels, probs) == pytest.approx(f1_score(y, probs.argmax(1), average="macro"))
    assert evaluate("roc_auc_ovr", labels, probs) == pytest.approx(roc_auc_score(y, probs, multi_class="ovr", average="macro"))
    # missing labels are skipped; [N, T, C] with two tasks averages the tasks
    two = np.column_stack([labels, np.where(np.arange(60) % 4 == 0, np.nan, labels)])
    stacked = np.stack([probs, probs], axis=1)
    kept = np.arange(60) % 4 != 0
    second = roc_auc_score(y[kept], probs[kept], multi_class="ovr", average="macro")
    assert evaluate("roc_auc_ovr", two, stacked) == pytest.approx((evaluate("roc_auc_ovr", labels, probs) + second) / 2)
    with pytest.raises(MetricError, match=r"class labels 0..2"):
        evaluate("accuracy", np.array([0.0, 3.0]), probs[:2])
    assert score_tasks("roc_auc_ovr", np.zeros((5, 1)), probs[:5, None, :]) == [(None, "only class 0 (5 labels)")]


def test_score_tasks_says_which_tasks_have_no_value_and_why():
    y_true = np.array([[0, 1, np.nan], [1, 1, np.nan], [0, 1, np.nan]])
    y_pred = np.array([[0.1, 0.2, 0.3], [0.9, 0.4, 0.5], [0.3, 0.6, 0.7]])
    assert score_tasks("roc_auc", y_true, y_pred) == [(1.0, None), (None, "only 1s (3 labels)"), (None, "no labels")]
    assert evaluate("roc_auc", y_true, y_pred) == 1.0
