"""Per-task test metrics of a fine-tuning run, the baseline they should beat, and their printout.

The protocol (``molssl.tasks.finetune``) selects each seed's epoch on validation on one metric averaged
over tasks. This report scores each seed's selected model on the test split with every metric of its
task type (``molssl.eval.metrics.REPORTED_METRICS``), per task and averaged, says which tasks a metric
left out of its mean and why, and for regression and multiclass gives the trivial baseline (predict the
training mean / the most frequent training class) measured on the same test molecules.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from molssl.eval.metrics import REPORTED_METRICS, get_metric, score_tasks
from molssl.tasks.predict_graphs import outputs_to_predictions
from molssl.tasks.target_scaler import TargetScaler


def seed_stats(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and unbiased std over seeds (std None for one seed: one value has no spread); None if any is undefined."""
    defined = [v for v in values if v is not None and not math.isnan(v)]
    if len(defined) < len(values) or not defined:
        return {"mean": None, "std": None, "per_seed": [None if v is None or math.isnan(v) else v for v in values]}
    arr = np.asarray(defined, dtype=np.float64)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else None, "per_seed": list(map(float, arr))}


def _scores(metric_name: str, labels: np.ndarray, outputs: np.ndarray, task_type: str, scaler: TargetScaler | None):
    metric = get_metric(metric_name)
    preds = outputs if metric.order_only else outputs_to_predictions(outputs, task_type, scaler)
    return score_tasks(metric_name, labels, preds)


def baseline(task_type: str, task_names: Sequence[str], train_labels: np.ndarray, test_labels: np.ndarray) -> dict[str, Any] | None:
    """The trivial predictor's test metrics: the training mean (regression), the most frequent training class (multiclass).

    Shapes:
        train_labels: [N_train, T]; test_labels: [N_test, T] (NaN missing)
    """
    if task_type == "regression":
        means = np.array([np.nanmean(c) if (~np.isnan(c)).any() else np.nan for c in train_labels.T])
        preds = np.broadcast_to(means, test_labels.shape)
        out: dict[str, Any] = {"method": "predict the training mean of each task"}
        for name in ("rmse", "mae"):
            per_task = {t: v for t, (v, _) in zip(task_names, score_tasks(name, test_labels, np.nan_to_num(preds)))}
            defined = [v for v in per_task.values() if v is not None]
            out[name] = {"mean": sum(defined) / len(defined) if defined else None, "per_task": per_task}
        return out
    if task_type == "multiclass":
        per_task = {}
        for j, t in enumerate(task_names):
            train, test = train_labels[:, j], test_labels[:, j]
            train, test = train[~np.isnan(train)], test[~np.isnan(test)]
            per_task[t] = float((test == np.bincount(train.astype(np.int64)).argmax()).mean()) if train.size and test.size else None
        defined = [v for v in per_task.values() if v is not None]
        return {"method": "predict the most frequent training class of each task",
                "accuracy": {"mean": sum(defined) / len(defined) if defined else None, "per_task": per_task}}  # fmt: skip
    return None


def score_test_split(task_type: str, task_names: Sequence[str], labels: np.ndarray, split: Sequence[np.ndarray], seed_outputs: np.ndarray,
                scaler: TargetScaler | None, ensemble_outputs: np.ndarray | None = None) -> dict[str, Any]:  # fmt: skip
    """Every reported metric on the test split, per task and over tasks, with excluded tasks and the baseline.

    Args:
        task_type: ``classification``, ``multiclass`` or ``regression``.
        task_names: the T task names.
        labels: [M, T] labels of all molecules (NaN missing).
        split: (train, valid, test) indices into ``labels``.
        seed_outputs: [S, N_test, T] (or [S, N_test, T, C]) raw outputs of each seed's selected model on test.
        scaler: the regression target scaler.
        ensemble_outputs: when the seeds form an ensemble, the same outputs: its mean prediction is scored too.

    Returns:
        plain JSON data: ``metrics`` (per metric: mean over tasks, over seeds), ``per_task`` (per task and
        metric, over seeds; ``test_labels``), ``excluded`` (metric -> task -> reason), ``baseline``
        (regression, multiclass) and ``ensemble`` (metric -> value of the ensemble's mean prediction).
    """
    train, _, test = (np.asarray(s, dtype=np.int64) for s in split)
    test_labels = labels[test]
    report: dict[str, Any] = {"split": "test", "metrics": {}, "per_task": {t: {} for t in task_names}, "excluded": {}}
    for j, t in enumerate(task_names):
        report["per_task"][t]["test_labels"] = int((~np.isnan(test_labels[:, j])).sum())
    for name in REPORTED_METRICS[task_type]:
        per_seed = [_scores(name, test_labels, outputs, task_type, scaler) for outputs in seed_outputs]
        for j, t in enumerate(task_names):
            report["per_task"][t][name] = seed_stats([scores[j][0] for scores in per_seed])
        reasons = {t: why for t, (_, why) in zip(task_names, per_seed[0]) if why is not None}
        if reasons:
            report["excluded"][name] = reasons
        means = []
        for scores in per_seed:
            defined = [v for v, _ in scores if v is not None]
            means.append(sum(defined) / len(defined) if defined else None)
        report["metrics"][name] = seed_stats(means)
    report["baseline"] = baseline(task_type, task_names, labels[train], test_labels)
    if ensemble_outputs is not None:
        from molssl.tasks.ensemble import combine

        mean = combine(ensemble_outputs, task_type, scaler).values
        report["ensemble"] = {}
        for name in REPORTED_METRICS[task_type]:
            defined = [v for v, _ in score_tasks(name, test_labels, mean) if v is not None]
            report["ensemble"][name] = sum(defined) / len(defined) if defined else None
    return report


def _value(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4f}"


def format_stats(stats: dict[str, Any]) -> str:
    """``0.7123 +- 0.0153`` over seeds, or ``0.7123`` for one seed (no spread to show)."""
    if stats.get("std") is None:
        return _value(stats.get("mean"))
    return f"{_value(stats['mean'])} +- {stats['std']:.4f}"


def format_report(report: dict[str, Any], num_seeds: int, max_tasks: int = 30) -> list[str]:
    """Lines for a terminal: every metric over tasks, a per-task table, excluded tasks, baseline, ensemble."""
    metrics = list(report["metrics"])
    seeds = f"{num_seeds} seed{'s' if num_seeds > 1 else ''}"
    lines = [f"test metrics at each seed's best-validation epoch ({seeds}"
             + (", mean +- std)" if num_seeds > 1 else ")") + ": "
             + ", ".join(f"{m} {format_stats(report['metrics'][m])}" for m in metrics)]  # fmt: skip
    tasks = list(report["per_task"])
    if len(tasks) > 1:
        width = max(len(t) for t in tasks[:max_tasks])
        lines.append(f"  {'task':<{width}}  {'labels':>6}  " + "  ".join(f"{m:>18}" for m in metrics))
        for t in tasks[:max_tasks]:
            row = report["per_task"][t]
            lines.append(f"  {t:<{width}}  {row['test_labels']:>6}  " + "  ".join(f"{format_stats(row[m]):>18}" for m in metrics))
        if len(tasks) > max_tasks:
            lines.append(f"  ... {len(tasks) - max_tasks} more tasks in metrics.json")
    for m, reasons in report.get("excluded", {}).items():
        shown = "; ".join(f"{t}: {why}" for t, why in list(reasons.items())[:10])
        more = f"; ... ({len(reasons) - 10} more)" if len(reasons) > 10 else ""
        lines.append(f"  {m} left out {len(reasons)} of {len(tasks)} task(s) from its mean: {shown}{more}")
    base = report.get("baseline")
    if base:
        parts = [f"{k} {_value(v['mean'])}" for k, v in base.items() if isinstance(v, dict)]
        lines.append(f"  baseline ({base['method']}): " + ", ".join(parts))
    if report.get("ensemble"):
        lines.append(f"  ensemble of the {seeds} (mean prediction): " + ", ".join(f"{m} {_value(v)}" for m, v in report["ensemble"].items()))
    return lines


__all__ = ["baseline", "format_report", "format_stats", "seed_stats", "score_test_split"]
