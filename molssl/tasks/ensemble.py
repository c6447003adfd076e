"""An ensemble of fine-tuned models (one per seed): the mean prediction and the members' spread.

The spread (standard deviation over members) is the ensemble uncertainty of Lakshminarayanan et al.
(NeurIPS 2017), as chemprop's ``ensemble`` uncertainty estimator reports it: members trained from
different seeds disagree most where the data constrain the model least. Classification probabilities
are averaged in probability space; a calibrated probability applies the stored temperatures to the
logit of that mean (``molssl.tasks.calibration``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from molssl.graph.arrays import GraphArrays
from molssl.tasks.calibration import probability_logits, scale_logits
from molssl.tasks.predict_graphs import outputs_to_predictions, predict_graphs
from molssl.tasks.model import PropertyModel
from molssl.tasks.target_scaler import TargetScaler

#: the key prefix of the other members' weights in a saved ensemble's single state dict (``ensemble.<seed>.``)
MEMBER_PREFIX = "ensemble."


@dataclass
class EnsemblePrediction:
    """Predictions of one or more members for M molecules.

    Attributes:
        values: the members' mean: probabilities (classification), class probabilities (multiclass) or
            values in the training units (regression). Shape [M, T] or [M, T, C].
        spread: standard deviation over members (same shape), None for a single member.
        calibrated: temperature-scaled probabilities (classifiers with temperatures), else None.
    """

    values: np.ndarray
    spread: np.ndarray | None = None
    calibrated: np.ndarray | None = None


def member_outputs(models: Sequence[PropertyModel], graphs: GraphArrays, indices: np.ndarray | None = None,
                   batch_size: int = 256) -> np.ndarray:  # fmt: skip
    """Raw outputs of every member. Shape [S, M, T] (or [S, M, T, C] for multiclass)."""
    return np.stack([predict_graphs(model, graphs, indices, batch_size).astype(np.float64) for model in models])


def combine(outputs: np.ndarray, task_type: str, scaler: TargetScaler | None,
            temperatures: Sequence[float] | None = None) -> EnsemblePrediction:  # fmt: skip
    """Mean, spread and calibrated probabilities from the members' raw outputs.

    Shapes:
        outputs: [S, M, T] or [S, M, T, C] -> values [M, T] or [M, T, C]
    """
    predictions = np.stack([outputs_to_predictions(member, task_type, scaler) for member in outputs])
    values = predictions.mean(axis=0)
    spread = predictions.std(axis=0) if len(predictions) > 1 else None
    calibrated = None
    if temperatures is not None and task_type in ("classification", "multiclass"):
        calibrated = scale_logits(probability_logits(values, task_type), temperatures, task_type)
    return EnsemblePrediction(values=values, spread=spread, calibrated=calibrated)


def pack_members(main_state: dict[str, torch.Tensor], others: dict[int, dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """One state dict for a checkpoint: the main model's weights as they are, every other member's under ``ensemble.<seed>.``."""
    packed = dict(main_state)
    for seed, state in others.items():
        packed.update({f"{MEMBER_PREFIX}{seed}.{key}": value for key, value in state.items()})
    return packed


def pop_members(state: dict[str, torch.Tensor]) -> dict[int, dict[str, torch.Tensor]]:
    """Remove the other members' weights from a packed state dict (in place) and return them by seed."""
    members: dict[int, dict[str, torch.Tensor]] = {}
    for key in [k for k in state if k.startswith(MEMBER_PREFIX)]:
        seed, _, name = key[len(MEMBER_PREFIX):].partition(".")
        members.setdefault(int(seed), {})[name] = state.pop(key)
    return members


__all__ = ["EnsemblePrediction", "MEMBER_PREFIX", "combine", "member_outputs", "pack_members", "pop_members"]
