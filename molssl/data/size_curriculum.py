"""A size curriculum for pretraining ("start small, then scale"): the first steps draw the smallest molecules.

A competence-based curriculum (Platanios et al., "Competence-based Curriculum Learning for Neural
Machine Translation", NAACL 2019) with a molecule's size (its atoms) as its difficulty. Over the
first T steps, step t draws its batch uniformly, without replacement, from the ``ceil(c(t) M)``
smallest of the M molecules (at least one global batch), with the square-root competence

    c(t) = min(1, sqrt(c0^2 + (1 - c0^2) t / T))

where c0 (``start``) is the share the first step draws from; c(T) = 1. From step T on the batches are
the epoch order's (a seeded permutation per epoch). The pretraining loop's ``BatchOrder``
(``molssl.pretrain.batch_order``) makes the draws: each depends only on the seed and the step, so a
resumed run draws what an uninterrupted one would. This module holds the schedule and its checks.
"""

from __future__ import annotations

import math


def check_curriculum(fraction: float, start: float) -> None:
    """Refuse a curriculum fraction outside [0, 1] or a start share outside (0, 1].

    Raises:
        ValueError: naming the option and the valid range.
    """
    for name, value, low_ok in (("size_curriculum", fraction, True), ("curriculum_start", start, False)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if not (0.0 <= value <= 1.0) or (not low_ok and value == 0.0):
            valid = "[0, 1] (0 = no curriculum)" if low_ok else "(0, 1]"
            raise ValueError(f"{name} must be in {valid}, got {value!r}")


def competence(step: int, steps: int, start: float) -> float:
    """c(t): the share of the molecules, smallest first, that step ``step`` of a ``steps``-step curriculum draws from."""
    if step >= steps:
        return 1.0
    return min(1.0, math.sqrt(start**2 + (1.0 - start**2) * step / steps))


__all__ = ["check_curriculum", "competence"]
