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

Beyond OGB: ``r2`` (coefficient of determination per task, a task with constant labels left out) and
the multiclass metrics ``accuracy``, ``macro_f1`` and ``roc_auc_ovr`` (one-vs-rest ROC-AUC averaged over
the classes that occur), whose ``y_pred`` is [N, T, C] class probabilities and ``y_true`` [N, T] class
indices. ``score_tasks`` gives any metric per task, with the reason a task has no value.

Beyond OGB, inputs are checked up front with errors that say what is wrong: shapes, observed labels
that are not 0/1 for the classification metrics, infinite labels, and NaN or infinite predictions
where a label is observed (NaN predictions where the label is missing are allowed and ignored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from molssl.registry import Registry

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


def r2(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` per task on observed labels, averaged over tasks.

    A task whose observed labels are all equal (SS_tot = 0) has no R2 and is left out.

    Shapes:
        y_true: [N, T] or [N], NaN for missing
        y_pred: same shape as ``y_true``
        output: float

    Raises:
        MetricError: as ``rmse``, or when every task's labels are constant.
    """
    true, pred, observed = _check_inputs(y_true, y_pred)
    scores = []
    for task in range(true.shape[1]):
        labels = true[observed[:, task], task]
        total = float(((labels - labels.mean()) ** 2).sum()) if labels.size else 0.0
        if total > 0:
            scores.append(1.0 - float(((labels - pred[observed[:, task], task]) ** 2).sum()) / total)
    if not scores:
        raise MetricError("R2 is undefined: no task has two different observed labels")
    return sum(scores) / len(scores)


def _check_multiclass(y_true: ArrayLike, y_pred: ArrayLike, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated [N, T] class labels, [N, T, C] probabilities and the observed mask.

    Shapes:
        y_true: [N] or [N, T] class indices (NaN missing); y_pred: [N, C] or [N, T, C]
    """
    true = _to_float64(y_true, "y_true")
    pred = _to_float64(y_pred, "y_pred")
    if true.ndim == 1:
        true = true[:, None]
    if pred.ndim == 2:
        pred = pred[:, None, :]
    if true.ndim != 2 or pred.ndim != 3 or pred.shape[:2] != true.shape:
        raise MetricError(f"{name}: y_true must be [N, T] class indices and y_pred [N, T, C] probabilities, got "
                          f"{tuple(np.shape(y_true))} and {tuple(np.shape(y_pred))}")  # fmt: skip
    if true.size == 0:
        raise MetricError(f"{name}: y_true is empty")
    observed = ~np.isnan(true)
    num_classes = pred.shape[2]
    bad = observed & ((true < 0) | (true >= num_classes) | (true != np.round(true)))
    if bad.any():
        row, task = np.argwhere(bad)[0]
        raise MetricError(f"{name} needs class labels 0..{num_classes - 1}; y_true[{row}, {task}] = {true[row, task]}")
    bad = observed[:, :, None] & ~np.isfinite(pred)
    if bad.any():
        row, task, _ = np.argwhere(bad)[0]
        raise MetricError(f"y_pred has NaN or infinite probabilities where a label is observed, first at row {row}, task {task}")
    return true, pred, observed


def _multiclass_task_average(y_true: ArrayLike, y_pred: ArrayLike, score: Callable[[np.ndarray, np.ndarray], float | None],
                             name: str) -> float:  # fmt: skip
    true, pred, observed = _check_multiclass(y_true, y_pred, name)
    scores = []
    for task in range(true.shape[1]):
        rows = observed[:, task]
        if rows.any():
            value = score(true[rows, task].astype(np.int64), pred[rows, task])
            if value is not None:
                scores.append(float(value))
    if not scores:
        raise MetricError(f"{name} is undefined: no task has the observed labels it needs ({int(observed.sum())} observed)")
    return sum(scores) / len(scores)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of molecules whose most probable class is the label, per task, averaged over tasks.

    Shapes:
        y_true: [N, T] or [N] class indices, NaN for missing
        y_pred: [N, T, C] or [N, C] class probabilities (or any scores: only the argmax counts)
        output: float
    """
    return _multiclass_task_average(y_true, y_pred, lambda y, p: float((p.argmax(axis=1) == y).mean()), "accuracy")


def _macro_f1(labels: np.ndarray, probs: np.ndarray) -> float:
    """Unweighted mean of the per-class F1 over the classes among the labels or the predictions."""
    predicted = probs.argmax(axis=1)
    scores = []
    for c in np.union1d(labels, predicted):
        tp = float(((predicted == c) & (labels == c)).sum())
        denominator = float((predicted == c).sum() + (labels == c).sum())
        scores.append(2 * tp / denominator)
    return sum(scores) / len(scores)


def macro_f1(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Macro-averaged F1 of the argmax class (scikit-learn's ``f1_score(average="macro")``), per task, averaged.

    Classes that occur neither among the labels nor among the predictions are not counted.

    Shapes:
        y_true: [N, T] or [N] class indices, NaN for missing
        y_pred: [N, T, C] or [N, C] class probabilities
        output: float
    """
    return _multiclass_task_average(y_true, y_pred, _macro_f1, "macro-F1")


def _roc_auc_ovr(labels: np.ndarray, probs: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    scores = [roc_auc_score(labels == c, probs[:, c]) for c in range(probs.shape[1]) if 0 < (labels == c).sum() < labels.size]
    return sum(scores) / len(scores) if scores else None


def roc_auc_ovr(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """One-vs-rest ROC-AUC: per class (that class vs the others) on its probability, averaged over classes, then tasks.

    A class that is absent from (or is every one of) a task's observed labels is left out of its mean,
    so the value is defined whenever a task has two classes; scores must be probabilities (softmax of
    the logits), since one class's logit alone does not order molecules the way its probability does.

    Shapes:
        y_true: [N, T] or [N] class indices, NaN for missing
        y_pred: [N, T, C] or [N, C] class probabilities
        output: float
    """
    return _multiclass_task_average(y_true, y_pred, _roc_auc_ovr, "ROC-AUC (one-vs-rest)")


@dataclass(frozen=True)
class Metric:
    """A registered metric: its function and which direction is better.

    Attributes:
        name: registry key.
        fn: ``fn(y_true, y_pred) -> float``.
        higher_is_better: True for scores (ROC-AUC), False for errors (RMSE).
        task_type: ``"classification"`` (binary labels), ``"multiclass"`` or ``"regression"``.
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
        if self.task_type not in ("classification", "multiclass", "regression"):
            raise ValueError(f"Metric {self.name!r}: task_type must be 'classification', 'multiclass' or 'regression', got {self.task_type!r}")
        if not callable(self.fn):
            raise TypeError(f"Metric {self.name!r}: fn must be callable, got {type(self.fn).__name__}")

    @property
    def worst(self) -> float:
        """A value every real result beats (start value when selecting the best epoch)."""
        return -math.inf if self.higher_is_better else math.inf

    def is_better(self, candidate: float, best: float) -> bool:
        """Whether ``candidate`` strictly improves on ``best`` in this metric's direction."""
        return candidate > best if self.higher_is_better else candidate < best


METRICS: Registry[Metric] = Registry("metric", {
    "roc_auc": Metric("roc_auc", roc_auc, higher_is_better=True, task_type="classification", order_only=True),
    "pr_auc": Metric("pr_auc", pr_auc, higher_is_better=True, task_type="classification", order_only=True),
    "rmse": Metric("rmse", rmse, higher_is_better=False, task_type="regression"),
    "mae": Metric("mae", mae, higher_is_better=False, task_type="regression"),
    "r2": Metric("r2", r2, higher_is_better=True, task_type="regression"),
    "accuracy": Metric("accuracy", accuracy, higher_is_better=True, task_type="multiclass"),
    "macro_f1": Metric("macro_f1", macro_f1, higher_is_better=True, task_type="multiclass"),
    "roc_auc_ovr": Metric("roc_auc_ovr", roc_auc_ovr, higher_is_better=True, task_type="multiclass"),
})  # fmt: skip

#: the metric a task type is selected and reported on, and the ones reported beside it per task
DEFAULT_METRIC: dict[str, str] = {"classification": "roc_auc", "multiclass": "roc_auc_ovr", "regression": "rmse"}
REPORTED_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("roc_auc", "pr_auc"),
    "multiclass": ("roc_auc_ovr", "accuracy", "macro_f1"),
    "regression": ("rmse", "mae", "r2"),
}

#: OGB's ``eval_metric`` names (``Evaluator(name).eval_metric``) -> molssl metric names
OGB_METRIC_NAMES: dict[str, str] = {"rocauc": "roc_auc", "ap": "pr_auc", "rmse": "rmse"}


def get_metric(name: str) -> Metric:
    """The metric registered under ``name``; OGB's names (``rocauc``, ``ap``, ``rmse``) are accepted too."""
    key = OGB_METRIC_NAMES.get(name, name) if isinstance(name, str) else name
    if key not in METRICS:
        raise ValueError(f"{METRICS.unknown(name)} (OGB names {', '.join(sorted(OGB_METRIC_NAMES))} also accepted)")
    return METRICS[key]


def score_tasks(metric_name: str, y_true: ArrayLike, y_pred: ArrayLike) -> list[tuple[float | None, str | None]]:
    """The metric on each task alone: ``(value, None)``, or ``(None, reason)`` when the task has no value.

    The mean that ``evaluate`` returns is the mean of the defined values here; the reasons say which
    tasks it left out and why (e.g. only one class among the observed labels).

    Shapes:
        y_true: [N, T] or [N]
        y_pred: [N, T] (or [N, T, C] for a multiclass metric)
        output: T pairs
    """
    metric = get_metric(metric_name)
    true = _to_float64(y_true, "y_true")
    pred = _to_float64(y_pred, "y_pred")
    if true.ndim == 1:
        true = true[:, None]
        pred = pred[:, None] if pred.ndim == 1 else pred[:, None, :]
    out: list[tuple[float | None, str | None]] = []
    for task in range(true.shape[1]):
        column = true[:, task]
        observed = column[~np.isnan(column)]
        if observed.size == 0:
            out.append((None, "no labels"))
            continue
        try:
            out.append((float(metric.fn(true[:, task : task + 1], pred[:, task : task + 1])), None))
        except MetricError as exc:
            if metric.task_type == "classification" and np.isin(observed, (0, 1)).all():
                reason = f"only {int(observed[0])}s ({observed.size} labels)"
            elif metric.name == "r2" and np.unique(observed).size == 1:
                reason = f"constant labels ({observed.size} labels)"
            elif metric.task_type == "multiclass" and np.unique(observed).size == 1:
                reason = f"only class {int(observed[0])} ({observed.size} labels)"
            else:
                reason = str(exc)
            out.append((None, reason))
    return out


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


__all__ = ["DEFAULT_METRIC", "METRICS", "OGB_METRIC_NAMES", "REPORTED_METRICS", "Metric", "MetricError", "accuracy", "evaluate",
           "get_metric", "macro_f1", "mae", "pr_auc", "r2", "rmse", "roc_auc", "roc_auc_ovr", "score_tasks"]
