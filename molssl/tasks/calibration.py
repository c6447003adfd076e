"""Temperature scaling of classifier probabilities (Guo et al., ICML 2017, "On Calibration of Modern Neural
Networks"), fitted per task on the validation split.

A temperature ``T > 0`` divides the logit before the sigmoid (binary) or softmax (multiclass); it changes
no ranking (ROC-AUC is unchanged) and only how confident the probabilities are. It is fitted by minimizing
the negative log-likelihood of the observed validation labels, one temperature per task.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: the search interval of the temperature (log-uniform bounds)
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0
_EPS = 1e-7


def probability_logits(probabilities: np.ndarray, task_type: str) -> np.ndarray:
    """Logits whose sigmoid (binary) or softmax (multiclass, last axis) gives ``probabilities`` back.

    Shapes:
        probabilities: [N, T] (binary) or [N, T, C] (multiclass) -> same shape
    """
    p = np.clip(np.asarray(probabilities, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p)) if task_type == "classification" else np.log(p)


def scale_logits(logits: np.ndarray, temperatures: np.ndarray | list[float], task_type: str) -> np.ndarray:
    """Calibrated probabilities: sigmoid / softmax of ``logits / T``, one T per task.

    Shapes:
        logits: [N, T] or [N, T, C]; temperatures: [T] -> same shape as logits
    """
    temps = np.asarray(temperatures, dtype=np.float64)
    if task_type == "classification":
        return 1.0 / (1.0 + np.exp(-logits / temps[None, :]))
    scaled = logits / temps[None, :, None]
    scaled = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return scaled / scaled.sum(axis=-1, keepdims=True)


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float, task_type: str) -> float:
    """Mean negative log-likelihood of one task's labels. Shapes: logits [n] or [n, C]; labels [n]."""
    if task_type == "classification":
        z = logits / temperature
        # log(1 + exp(-z)) for y = 1 and log(1 + exp(z)) for y = 0, computed stably
        return float(np.mean(np.logaddexp(0.0, np.where(labels == 1, -z, z))))
    z = logits / temperature
    log_norm = np.logaddexp.reduce(z, axis=1)
    return float(np.mean(log_norm - z[np.arange(len(labels)), labels.astype(np.int64)]))


def calibration_gap(labels: np.ndarray) -> str | None:
    """Why one task's validation labels cannot fit a temperature, or None when they can.

    Labels of one class only have no finite NLL minimum: the fit would drive every probability to that
    class (T at a bound), so such a task keeps T = 1.

    Shapes:
        labels: [N], NaN for missing
    """
    observed = labels[~np.isnan(labels)]
    if observed.size == 0:
        return "no validation labels"
    classes = np.unique(observed)
    if classes.size < 2:
        return f"only {int(classes[0])}s on validation ({observed.size} labels)"
    return None


def fit_temperatures(logits: np.ndarray, labels: np.ndarray, task_type: str) -> tuple[list[float], list[float], list[float]]:
    """Per-task temperatures minimizing the validation NLL, and the NLL before (T = 1) and after.

    A task without observed labels keeps T = 1 (and NaN NLLs); one whose labels are all one class keeps
    T = 1 (``calibration_gap`` says why).

    Shapes:
        logits: [N, T] (binary) or [N, T, C] (multiclass); labels: [N, T], NaN for missing

    Raises:
        ValueError: for a task type other than ``classification`` or ``multiclass``.
    """
    from scipy.optimize import minimize_scalar

    if task_type not in ("classification", "multiclass"):
        raise ValueError(f"temperature scaling calibrates classifiers, not {task_type!r} models")
    temps, before, after = [], [], []
    for task in range(labels.shape[1]):
        rows = ~np.isnan(labels[:, task])
        if not rows.any():
            temps.append(1.0)
            before.append(math.nan)
            after.append(math.nan)
            continue
        z, y = logits[rows, task], labels[rows, task]
        if calibration_gap(labels[:, task]) is not None:
            temps.append(1.0)
            before.append(_nll(z, y, 1.0, task_type))
            after.append(before[-1])
            continue
        found = minimize_scalar(lambda log_t: _nll(z, y, math.exp(log_t), task_type),
                                bounds=(math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)), method="bounded")  # fmt: skip
        best = math.exp(float(found.x))
        temps.append(best if _nll(z, y, best, task_type) <= _nll(z, y, 1.0, task_type) else 1.0)
        before.append(_nll(z, y, 1.0, task_type))
        after.append(_nll(z, y, temps[-1], task_type))
    return temps, before, after


def _bound_note(temperature: float) -> str:
    """What a temperature at an end of the search interval means, or "" inside it."""
    if temperature >= MAX_TEMPERATURE * 0.999:
        return (" (the search's upper bound: probabilities near 0.5 fit validation best, so the model's "
                "confidences carry little there; train longer or check the model)")  # fmt: skip
    if temperature <= MIN_TEMPERATURE * 1.001:
        return " (the search's lower bound: validation is fitted best by near-certain probabilities)"
    return ""


def format_calibration(calibration: dict, task_names: Sequence[str], limit: int = 10) -> str:
    """``calibration (temperature scaling on validation): p_np T=0.61; rare T=1 (only 0s on validation ...)``.

    Args:
        calibration: ``info_["calibration"]`` of a fitted classifier (``temperatures``, ``kept_at_1``).
        task_names: the tasks, in the temperatures' order.
        limit: how many tasks to show.
    """
    kept = calibration.get("kept_at_1") or {}
    parts = [f"{t} T=1 ({kept[t]})" if t in kept else f"{t} T={temp:.3g}{_bound_note(temp)}"
             for t, temp in zip(task_names, calibration["temperatures"])][:limit]  # fmt: skip
    more = f"; ... ({len(task_names) - limit} more in metrics.json)" if len(task_names) > limit else ""
    return "calibration (temperature scaling on validation): " + "; ".join(parts) + more


__all__ = ["MAX_TEMPERATURE", "MIN_TEMPERATURE", "calibration_gap", "fit_temperatures", "format_calibration", "probability_logits", "scale_logits"]
