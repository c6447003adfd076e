"""Which kind of prediction a label matrix asks for: binary classification, multiclass or regression.

One function decides, and says why, so a 0/1/2 column never trains silently as regression and a
declared type that the labels contradict fails before featurization with the row that contradicts it.
The rules (``detect_task_type``):

* ``classification``: every observed label is 0 or 1 (multi-task binary, as MoleculeNet's sets).
* ``multiclass``: every observed label is an integer in 0..K-1 with 3 <= K <= ``MAX_DETECTED_CLASSES``
  and at least 3 distinct values; declared explicitly, any K >= 2 of non-negative integers is accepted.
* ``regression``: anything else (a fractional or negative value, or integers beyond the class limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

TASK_TYPES: tuple[str, ...] = ("classification", "multiclass", "regression")

#: the largest number of classes detected as multiclass; integer labels with more values read as regression
MAX_DETECTED_CLASSES = 10


@dataclass(frozen=True)
class TaskTypeDecision:
    """The task type of a label matrix and why it was chosen.

    Attributes:
        task_type: one of ``TASK_TYPES``.
        reason: one sentence a user can read ("every observed label is 0 or 1").
        detected: False when the caller declared the type (then ``reason`` says it was checked).
        num_classes: classes per task for ``multiclass`` (max label + 1), else None.
    """

    task_type: str
    reason: str
    detected: bool
    num_classes: int | None = None

    @property
    def explanation(self) -> str:
        """``"detected: every observed label is 0 or 1"`` (or ``"declared; ..."``): the reason with how the type was chosen."""
        return f"detected: {self.reason}" if self.detected else self.reason

    def describe(self) -> str:
        """``"multiclass (detected: every observed label is an integer 0..2 ...)"``, for printouts."""
        return f"{self.task_type} ({self.explanation})"

    def to_dict(self) -> dict:
        return {"task_type": self.task_type, "reason": self.reason, "detected": self.detected, "num_classes": self.num_classes}


def _first_where(mask: np.ndarray, labels: np.ndarray, task_names: Sequence[str]) -> str:
    row, task = np.argwhere(mask)[0]
    return f"row {int(row)}, column {task_names[int(task)]!r}: {labels[row, task]:g}"


def declare(task_type: str) -> str:
    """How to declare ``task_type``, for a command-line and a Python user alike."""
    return f"declare --task-type {task_type} (Python: task_type={task_type!r})"


def detect_task_type(
    labels: np.ndarray, task_names: Sequence[str], declared: str | None = None, source: str | None = None
) -> TaskTypeDecision:
    """Decide (or check the declared) task type of ``labels`` and give the reason.

    Args:
        labels: [N, T] float labels, NaN for missing; rows are 0-based data rows of ``source``.
        task_names: the T column names, for the reason and errors.
        declared: ``"classification"``, ``"multiclass"``, ``"regression"`` or None to detect.
        source: the file or dataset name, for errors.

    Returns:
        the decision; ``reason`` names the evidence (e.g. the first non-integer label) and, for a detected
        multiclass or regression, how to declare the other type.

    Raises:
        ValueError: unknown ``declared``; no observed label when detecting; a declared classification
            or multiclass contradicted by a label (the message names the row and column, and the type
            that fits).
    """
    prefix = f"{source}: " if source else ""
    if declared is not None and declared not in TASK_TYPES:
        raise ValueError(f"task_type must be one of {list(TASK_TYPES)} or None, got {declared!r}")
    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim == 1:
        labels = labels[:, None]
    observed = ~np.isnan(labels)
    values = labels[observed]
    binary = np.isin(values, (0.0, 1.0)).all()
    integral = bool(values.size) and bool((values >= 0).all() and (values == np.round(values)).all())
    num_classes = int(values.max()) + 1 if integral else None
    distinct = np.unique(values).size

    if declared == "regression":
        return TaskTypeDecision("regression", "declared; labels are read as numbers", detected=False)
    if declared == "classification":
        if not binary:
            bad = _first_where(observed & (labels != 0) & (labels != 1), labels, task_names)
            hint = f"; for integer classes {declare('multiclass')}" if integral else ""
            raise ValueError(f"{prefix}{bad} is not 0 or 1: task_type 'classification' needs labels 0 or 1 (missing "
                             f"labels must be empty cells, not -1){hint}")  # fmt: skip
        return TaskTypeDecision("classification", "declared; every observed label is 0 or 1", detected=False)
    if declared == "multiclass":
        if not integral or num_classes is None or num_classes < 2:
            bad = _first_where(observed & ((labels < 0) | (labels != np.round(labels))), labels, task_names) if values.size else "no label"
            raise ValueError(f"{prefix}task_type 'multiclass' needs integer class labels 0..K-1 (K >= 2), got {bad}")
        return TaskTypeDecision("multiclass", f"declared; labels are classes 0..{num_classes - 1}", detected=False,
                                num_classes=num_classes)  # fmt: skip

    if values.size == 0:
        raise ValueError(f"{prefix}every label is missing, cannot detect the task type (do the target columns hold the labels?)")
    if binary:
        return TaskTypeDecision("classification", "every observed label is 0 or 1", detected=True)
    if integral and num_classes is not None and num_classes <= MAX_DETECTED_CLASSES and distinct >= 3:
        counts = np.bincount(values.astype(np.int64), minlength=num_classes)
        return TaskTypeDecision(
            "multiclass",
            f"every observed label is an integer 0..{num_classes - 1} (counts {counts.tolist()}); "
            f"{declare('regression')} if they are measurements",
            detected=True,
            num_classes=num_classes,
        )
    if not integral:
        evidence = _first_where(observed & ((labels < 0) | (labels != np.round(labels))), labels, task_names)
        why = f"a label is not a non-negative integer ({evidence})"
    elif num_classes is not None and num_classes > MAX_DETECTED_CLASSES:
        why = f"integer labels up to {int(values.max())}: more than {MAX_DETECTED_CLASSES} classes"
    else:
        why = f"integer labels with only {distinct} distinct values ({np.unique(values).tolist()}), not 0..K-1 classes"
    hint = f"; {declare('multiclass')} for classes" if integral else ""  # measurements with decimals need no hint
    return TaskTypeDecision("regression", f"{why}{hint}", detected=True)


__all__ = ["MAX_DETECTED_CLASSES", "TASK_TYPES", "TaskTypeDecision", "detect_task_type"]
