"""How much a property predictor's output changes when the same molecule is written differently.

A SMILES model reads one string of many for each molecule; the same molecule written from another
atom ordering (randomized SMILES, ``molssl.text.randomize``) should get the same prediction. A graph
model is invariant by construction (up to floating-point summation order), a text model only as far as
it learned to be. ``prediction_spread`` predicts every molecule from its SMILES as given plus ``views``
randomized ones and reports, per task, the spread of the predictions over the writings of a molecule:
the mean and median standard deviation, the largest range, and for classifiers the share of molecules
whose predicted class (probability >= 0.5) is not the same for every writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from molssl.text.randomize import parse_molecule, randomized_smiles


@dataclass
class InvarianceReport:
    """Spread of predictions over writings of the same molecules.

    Attributes:
        molecules: molecules measured (those the predictor could read in every writing).
        views: randomized writings per molecule (plus the SMILES as given).
        per_task: task -> ``{"mean_std", "median_std", "max_range"}`` and, for classifiers, ``"flip_rate"``.
        skipped: input index -> why it was not measured.
        values: [M, views + 1, T] the predictions (probabilities or values), for further analysis.
    """

    molecules: int
    views: int
    per_task: dict[str, dict[str, float]]
    skipped: dict[int, str] = field(default_factory=dict)
    values: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (without ``values``)."""
        return {"molecules": self.molecules, "views": self.views, "per_task": self.per_task,
                "skipped": {str(k): v for k, v in self.skipped.items()}}  # fmt: skip


def randomized_writings(smiles: Sequence[str], views: int, seed: int = 0) -> tuple[list[list[str]], list[int], dict[int, str]]:
    """Each SMILES followed by ``views`` randomized writings of it (RDKit), from a generator seeded by ``seed``.

    Returns:
        (writings, indices, skipped): one list of ``views + 1`` strings per readable input, the inputs'
        indices, and why the others were skipped.
    """
    generator = torch.Generator().manual_seed(seed)
    writings, indices, skipped = [], [], {}
    for index, text in enumerate(smiles):
        try:
            mol = parse_molecule(text, f"input {index}")
        except ValueError as exc:
            skipped[index] = str(exc)
            continue
        writings.append([text] + [randomized_smiles(mol, generator) for _ in range(views)])
        indices.append(index)
    return writings, indices, skipped


def prediction_spread(predictor: Any, smiles: Sequence[str], *, views: int = 8, seed: int = 0,
                      batch_size: int = 128) -> InvarianceReport:  # fmt: skip
    """Predict every molecule from its SMILES and ``views`` randomized ones; report the spread per task.

    Args:
        predictor: a fitted ``molssl.tasks.PropertyPredictor`` (text or graph); regression tasks are
            compared in their units, classification tasks as probabilities. Multiclass is not supported.
        smiles: the molecules.
        views: randomized writings per molecule (>= 1).
        seed: seed of the atom orderings.
        batch_size: molecules per forward pass.

    Raises:
        ValueError: ``views < 1``, a multiclass predictor, or no molecule left to measure.
    """
    if views < 1:
        raise ValueError(f"views must be >= 1, got {views}")
    config = predictor.model_.config if predictor.model_ is not None else None
    if config is None:
        raise ValueError("the predictor is not fitted: call fit() or PropertyPredictor.load() first")
    if config.num_classes is not None:
        raise ValueError("prediction_spread compares probabilities or values; multiclass predictors are not supported")
    writings, indices, skipped = randomized_writings(smiles, views, seed)
    flat = [s for group in writings for s in group]
    frame = predictor.predict(flat, batch_size=batch_size) if flat else None
    tasks = list(config.task_names)
    values = np.zeros((0, views + 1, len(tasks)))
    if frame is not None:
        values = frame[tasks].to_numpy(dtype=np.float64).reshape(len(writings), views + 1, len(tasks))
        unreadable = np.isnan(values).any(axis=(1, 2))
        for position in np.flatnonzero(unreadable):
            skipped[indices[position]] = "the predictor could not read one of its writings"
        values = values[~unreadable]
    if len(values) == 0:
        raise ValueError("no molecule could be measured (every input was unreadable)")
    per_task: dict[str, dict[str, float]] = {}
    for j, task in enumerate(tasks):
        column = values[:, :, j]  # [M, views + 1]
        std = column.std(axis=1)
        stats = {"mean_std": float(std.mean()), "median_std": float(np.median(std)),
                 "max_range": float((column.max(axis=1) - column.min(axis=1)).max())}  # fmt: skip
        if config.task_type == "classification":
            predicted = column >= 0.5
            stats["flip_rate"] = float((predicted.any(axis=1) & ~predicted.all(axis=1)).mean())
        per_task[task] = stats
    return InvarianceReport(len(values), views, per_task, skipped, values)
