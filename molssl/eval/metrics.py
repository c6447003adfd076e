"""Metrics for multi-task molecular property prediction, with the semantics of OGB's ``Evaluator``.

Labels are a matrix ``y_true`` of shape [N, T] (N molecules, T tasks) with NaN marking a missing label;
``y_pred`` has the same shape. A 1-D array is one task and is read as [N, 1]. Every metric is computed
per task on that task's observed rows only, then averaged over the tasks it is defined for, which is
what ``ogb.graphproppred.Evaluator`` does (Hu et al. 2020, "Open Graph Benchmark"):

* ``roc_auc`` (OGB ``rocauc``, e.g. ogbg-molhiv, ogbg-moltox21) and ``pr_auc`` (OGB ``ap``,
  ogbg-molpcba; scikit-learn's average precision, the step-wise area under the precision-recall
  curve) count a task only if its observed labels hold both a 0 and a 1; the mean is over those tasks,
  and when there is none the metric is undefined and ``MetricError`` is raised.
* ``rmse`` (OGB ``rmse``, e.g. ogbg-molesol) and ``mae`` are the per-task root mean squared / mean
  absolute error over observed rows, averaged over tasks. A task with no observed label is left out
  (OGB returns NaN for the whole average there); when no task has one, ``MetricError`` is raised.

Beyond OGB, inputs are checked up front with errors that say what is wrong: shapes, observed labels
that are not 0/1 for the classification metrics, infinite labels, and NaN or infinite predictions
where a label is observed (NaN predictions where the label is missing are allowed and ignored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

#: numpy arrays, torch tensors (any device, detached here) or nested sequences
ArrayLike = Any


class MetricError(ValueError):
    """A metric cannot be computed on these inputs (shapes, label values, or no evaluable task)."""


def _to_float64(values: ArrayLike, role: str) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch.Tensor; duck-typed so this module does not import torch
        values = values.detach().cpu().double().numpy()
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricError(f"{role} must be a numeric array or tensor, got {type(values).__name__} ({exc})") from exc


def _check_inputs(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated float64 copies of the inputs as [N, T], and the mask of observed labels.

    Shapes:
        y_true, y_pred: [N] or [N, T] -> [N, T], [N, T], observed [N, T] (bool)
    """
    true = _to_float64(y_true, "y_true")
    pred = _to_float64(y_pred, "y_pred")
    if true.shape != pred.shape:
        raise MetricError(
            f"y_true has shape {tuple(true.shape)} but y_pred has shape {tuple(pred.shape)}; "
            "both must be [N] or [N, T] with the same N and T"
        )
    if true.ndim == 1:
        true, pred = true[:, None], pred[:, None]
    if true.ndim != 2:
        raise MetricError(f"y_true and y_pred must be 1-D [N] or 2-D [N, T], got shape {tuple(true.shape)}")
    if true.shape[0] == 0 or true.shape[1] == 0:
        raise MetricError(f"y_true and y_pred are empty (shape {tuple(true.shape)}); a metric needs at least one molecule and one task")
    observed = ~np.isnan(true)
    bad = observed & ~np.isfinite(true)
    if bad.any():
        row, task = np.argwhere(bad)[0]
        raise MetricError(f"y_true has {int(bad.sum())} infinite label(s), first at row {row}, task {task}; use NaN for a missing label")
    bad = observed & ~np.isfinite(pred)
    if bad.any():
        row, task = np.argwhere(bad)[0]
        raise MetricError(
            f"y_pred has {int(bad.sum())} NaN or infinite prediction(s) where a label is observed, "
            f"first at row {row}, task {task} (value {pred[row, task]})"
        )
    return true, pred, observed


def _binary_task_average(y_true: ArrayLike, y_pred: ArrayLike, score: Callable, name: str) -> float:
    true, pred, observed = _check_inputs(y_true, y_pred)
    bad = observed & (true != 0) & (true != 1)
    if bad.any():
        row, task = np.argwhere(bad)[0]
        raise MetricError(
            f"{name} needs binary labels (0, 1, or NaN for missing); y_true[{row}, {task}] = {true[row, task]} "
            f"({int(bad.sum())} such label(s))"
        )
    scores = []
    for task in range(true.shape[1]):
        labels = true[observed[:, task], task]
        if (labels == 1).any() and (labels == 0).any():
            scores.append(float(score(labels, pred[observed[:, task], task])))
    if not scores:
        raise MetricError(
            f"{name} is undefined: no task has both a positive and a negative label among its observed labels "
            f"({true.shape[1]} task(s), {int(observed.sum())} observed label(s), {int((true == 1).sum())} positive)"
        )
    # sum / len, not np.mean, so the result equals OGB's to the last bit
    return sum(scores) / len(scores)


def _regression_task_average(y_true: ArrayLike, y_pred: ArrayLike, error: Callable[[np.ndarray], float], name: str) -> float:
    true, pred, observed = _check_inputs(y_true, y_pred)
    errors = []
    for task in range(true.shape[1]):
        rows = observed[:, task]
        if rows.any():
            errors.append(float(error(true[rows, task] - pred[rows, task])))
    if not errors:
        raise MetricError(f"{name} is undefined: y_true has no observed label (all {true.size} entries are NaN)")
    return sum(errors) / len(errors)


def roc_auc(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Area under the ROC curve, per task on observed labels, averaged over tasks with both classes.

    OGB's ``rocauc`` (ogbg-molhiv, ogbg-moltox21, ...). ``y_pred`` holds scores (logits or
    probabilities: only their order matters).

    Shapes:
        y_true: [N, T] or [N], 0/1 with NaN for missing
        y_pred: same shape as ``y_true``
        output: float

    Raises:
        MetricError: on mismatched shapes, non-binary labels, non-finite predictions at observed
            labels, or when no task has both a positive and a negative observed label.
    """
    from sklearn.metrics import roc_auc_score

    return _binary_task_average(y_true, y_pred, roc_auc_score, "ROC-AUC")


def pr_auc(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Average precision (area under the precision-recall curve), per task, averaged over tasks with both classes.

    OGB's ``ap`` (ogbg-molpcba): scikit-learn's ``average_precision_score``, the step-wise sum
    ``sum_n (R_n - R_{n-1}) P_n``, not a trapezoidal interpolation of the curve.

    Shapes:
        y_true: [N, T] or [N], 0/1 with NaN for missing
        y_pred: same shape as ``y_true``
        output: float

    Raises:
        MetricError: as ``roc_auc``.
    """
    from sklearn.metrics import average_precision_score

    return _binary_task_average(y_true, y_pred, average_precision_score, "PR-AUC (average precision)")


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error per task on observed labels, averaged over tasks (OGB's ``rmse``).

    Shapes:
        y_true: [N, T] or [N], NaN for missing
        y_pred: same shape as ``y_true``
        output: float

    Raises:
        MetricError: on mismatched shapes, non-finite predictions at observed labels, or no observed label.
    """
    return _regression_task_average(y_true, y_pred, lambda diff: math.sqrt(float(np.mean(diff**2))), "RMSE")


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error per task on observed labels, averaged over tasks.

    Shapes:
        y_true: [N, T] or [N], NaN for missing
        y_pred: same shape as ``y_true``
        output: float

    Raises:
        MetricError: as ``rmse``.
    """
    return _regression_task_average(y_true, y_pred, lambda diff: float(np.mean(np.abs(diff))), "MAE")


@dataclass(frozen=True)
class Metric:
    """A registered metric: its function and which direction is better.

    Attributes:
        name: registry key.
        fn: ``fn(y_true, y_pred) -> float``.
        higher_is_better: True for scores (ROC-AUC), False for errors (RMSE).
        task_type: ``"classification"`` (binary labels) or ``"regression"``.
        order_only: the value depends on ``y_pred`` only through its order (ROC-AUC, PR-AUC), so raw
            scores such as logits give exactly the value of any increasing transform of them. Score
            logits, not probabilities: a floating-point sigmoid rounds distinct large logits to the
            same probability and creates ties that change the value (and differ from OGB's
            ``Evaluator``, which sees the logits).
    """

    name: str
    fn: Callable[[ArrayLike, ArrayLike], float]
    higher_is_better: bool
    task_type: str
    order_only: bool = False

    def __post_init__(self) -> None:
        if self.task_type not in ("classification", "regression"):
            raise ValueError(f"Metric {self.name!r}: task_type must be 'classification' or 'regression', got {self.task_type!r}")
        if not callable(self.fn):
            raise TypeError(f"Metric {self.name!r}: fn must be callable, got {type(self.fn).__name__}")

    @property
    def worst(self) -> float:
        """A value every real result beats (start value when selecting the best epoch)."""
        return -math.inf if self.higher_is_better else math.inf

    def is_better(self, candidate: float, best: float) -> bool:
        """Whether ``candidate`` strictly improves on ``best`` in this metric's direction."""
        return candidate > best if self.higher_is_better else candidate < best


METRICS: dict[str, Metric] = {
    "roc_auc": Metric("roc_auc", roc_auc, higher_is_better=True, task_type="classification", order_only=True),
    "pr_auc": Metric("pr_auc", pr_auc, higher_is_better=True, task_type="classification", order_only=True),
    "rmse": Metric("rmse", rmse, higher_is_better=False, task_type="regression"),
    "mae": Metric("mae", mae, higher_is_better=False, task_type="regression"),
}

#: OGB's ``eval_metric`` names (``Evaluator(name).eval_metric``) -> molssl metric names
OGB_METRIC_NAMES: dict[str, str] = {"rocauc": "roc_auc", "ap": "pr_auc", "rmse": "rmse"}


def get_metric(name: str) -> Metric:
    """The metric registered under ``name``; OGB's names (``rocauc``, ``ap``, ``rmse``) are accepted too."""
    key = OGB_METRIC_NAMES.get(name, name) if isinstance(name, str) else name
    try:
        return METRICS[key]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown metric {name!r}; valid metrics: {', '.join(sorted(METRICS))} "
            f"(OGB names {', '.join(sorted(OGB_METRIC_NAMES))} also accepted)"
        ) from None


def evaluate(metric_name: str, y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Compute the metric registered under ``metric_name``.

    Shapes:
        y_true: [N, T] or [N] (read as [N, 1]), NaN for missing
        y_pred: same shape as ``y_true``
        output: float

    Raises:
        ValueError: for an unknown metric name (the message lists the valid ones).
        MetricError: when the inputs are invalid or the metric is undefined on them.
    """
    return get_metric(metric_name).fn(y_true, y_pred)


__all__ = ["METRICS", "OGB_METRIC_NAMES", "Metric", "MetricError", "evaluate", "get_metric", "mae", "pr_auc", "rmse", "roc_auc"]
