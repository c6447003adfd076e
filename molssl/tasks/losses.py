"""Fine-tuning losses for label matrices with missing entries.

Molecular property sets label only some molecules for some tasks (Tox21, ToxCast, PCBA, MUV). The losses
here average over the observed entries only, as pretrain-gnns (Hu et al. 2020, "Strategies for
Pre-training Graph Neural Networks") does for its binary tasks, and return 0 with a zero gradient, never
NaN, for a batch with nothing observed. Missing labels are NaN in float targets and -1 in class targets.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from molssl.registry import Registry



def _check_same_shape(inputs: Tensor, targets: Tensor, inputs_name: str) -> None:
    if inputs.shape != targets.shape:
        raise ValueError(
            f"{inputs_name} has shape {tuple(inputs.shape)} but targets has shape {tuple(targets.shape)}; "
            "they must match ([B, T], NaN targets for missing labels)"
        )
    if not targets.is_floating_point():
        raise TypeError(f"targets must be a floating-point tensor (NaN marks a missing label), got {targets.dtype}")


def _observed_mean(values: Tensor, observed: Tensor) -> Tensor:
    """Mean of ``values`` over ``observed`` entries; 0 (with zero gradient) when none is observed.

    ``torch.where`` rather than a multiplication by the mask: it sends a zero gradient to unobserved
    entries even when their value is infinite (``inf * 0`` would be NaN).

    Shapes:
        values, observed: [*] -> []
    """
    total = torch.where(observed, values, torch.zeros_like(values)).sum()
    # a count of 0 becomes 1, so an empty batch gives 0 / 1 rather than 0 / 0, with no host sync
    return total / observed.sum().clamp(min=1).to(values.dtype)


def masked_bce_with_logits(logits: Tensor, targets: Tensor, pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy with logits, averaged over the observed entries of a multi-task label matrix.

    Shapes:
        logits: [B, T] (or any shape)
        targets: same shape as ``logits``; 0/1 (or soft labels in [0, 1]), NaN for missing
        pos_weight: [T], optional weight of the positive term per task (``F.binary_cross_entropy_with_logits``)
        output: [] scalar; 0 with a zero gradient when no entry is observed

    Raises:
        ValueError: if the shapes differ.
        TypeError: if ``targets`` is not floating point.
    """
    _check_same_shape(logits, targets, "logits")
    targets = targets.to(logits.dtype)
    observed = ~torch.isnan(targets)
    filled = torch.where(observed, targets, torch.zeros_like(targets))
    losses = F.binary_cross_entropy_with_logits(logits, filled, pos_weight=pos_weight, reduction="none")
    return _observed_mean(losses, observed)


def masked_mse(predictions: Tensor, targets: Tensor) -> Tensor:
    """Mean squared error over the observed entries of a multi-task target matrix.

    Shapes:
        predictions: [B, T] (or any shape)
        targets: same shape as ``predictions``, NaN for missing
        output: [] scalar; 0 with a zero gradient when no entry is observed

    Raises:
        ValueError: if the shapes differ.
        TypeError: if ``targets`` is not floating point.
    """
    _check_same_shape(predictions, targets, "predictions")
    targets = targets.to(predictions.dtype)
    observed = ~torch.isnan(targets)
    # mask the difference, not only the square: its gradient at a missing entry must be exactly 0
    diff = torch.where(observed, predictions - torch.where(observed, targets, torch.zeros_like(targets)), torch.zeros_like(predictions))
    return _observed_mean(diff.square(), observed)


def masked_cross_entropy(logits: Tensor, targets: Tensor, ignore_index: int = -1) -> Tensor:
    """Multi-class cross-entropy averaged over the labeled rows (``targets == ignore_index`` is missing).

    Shapes:
        logits: [B, C] (or [B, T, C]: T multi-class tasks)
        targets: [B] (or [B, T]), integer class indices, ``ignore_index`` for missing
        output: [] scalar; 0 with a zero gradient when no row is labeled

    Raises:
        ValueError: if ``logits.shape[:-1] != targets.shape``.
        TypeError: if ``targets`` is not an integer tensor.
    """
    if logits.dim() < 2 or logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"logits has shape {tuple(logits.shape)} and targets has shape {tuple(targets.shape)}; "
            "expected logits [B, C] with targets [B] (or [B, T, C] with [B, T])"
        )
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise TypeError(f"targets must be integer class indices with {ignore_index} for missing, got {targets.dtype}")
    flat_logits = logits.reshape(-1, logits.shape[-1])  # [B * T, C]
    flat_targets = targets.reshape(-1).long()  # [B * T]
    # reduction="none" gives 0 (and a zero gradient) at ignored rows; averaging ourselves avoids 0 / 0
    losses = F.cross_entropy(flat_logits, flat_targets, ignore_index=ignore_index, reduction="none")
    return _observed_mean(losses, flat_targets != ignore_index)


def masked_multiclass_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """``masked_cross_entropy`` for the fine-tuning loop's float targets, where NaN marks a missing label.

    Shapes:
        logits: [B, T, C]
        targets: [B, T] float class indices, NaN for missing
        output: [] scalar
    """
    missing = torch.isnan(targets)
    classes = torch.where(missing, torch.full_like(targets, -1), targets).long()
    return masked_cross_entropy(logits, classes, ignore_index=-1)


#: the training loss of each task type (``molssl.data.task_type.TASK_TYPES``)
TASK_LOSSES: Registry[Callable[[Tensor, Tensor], Tensor]] = Registry("task type", {
    "classification": masked_bce_with_logits,
    "multiclass": masked_multiclass_loss,
    "regression": masked_mse,
})  # fmt: skip


def loss_for_task(task_type: str) -> Callable[[Tensor, Tensor], Tensor]:
    """The masked training loss of ``task_type``: BCE with logits, multiclass cross-entropy or MSE."""
    return TASK_LOSSES[task_type]


__all__ = ["TASK_LOSSES", "loss_for_task", "masked_bce_with_logits", "masked_cross_entropy", "masked_mse", "masked_multiclass_loss"]
