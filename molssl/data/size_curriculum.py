"""A size curriculum for pretraining ("start small, then scale"): the first steps draw the smallest molecules.

A competence-based curriculum (Platanios et al., "Competence-based Curriculum Learning for Neural
Machine Translation", NAACL 2019) with a molecule's size (its atoms) as its difficulty. Over the
first T steps, step t draws its batch uniformly, without replacement, from the ``ceil(c(t) M)``
smallest of the M molecules (at least one global batch), with the square-root competence

    c(t) = min(1, sqrt(c0^2 + (1 - c0^2) t / T))

where c0 (``start``) is the share the first step draws from; c(T) = 1. From step T on the batches are
exactly the plain loader's (a seeded permutation per epoch). A step's draw depends only on the seed
and the step, so a resumed run draws what an uninterrupted one would.
"""

from __future__ import annotations

import math

import numpy as np

from molssl.data.loader import StoreLoader

#: mixed into each step's seed, so curriculum draws never coincide with the loader's permutations
_DRAW_TAG = 0x5C0E


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


class SizeCurriculumLoader(StoreLoader):
    """A ``StoreLoader`` whose first ``steps`` batches come from the smallest molecules (module docstring).

    Step t is batch b of epoch e with t = e * len(loader) + b, as the pretraining loop counts them.
    With ``world_size > 1`` every rank draws the same global batch and keeps its shard of it.

    Args:
        source: a ``MoleculeStore`` or ``GraphArrays``.
        steps: length T of the curriculum in steps (0 = none: the plain loader).
        start: c0, the share of the molecules the first step draws from, in (0, 1].
        **options: the ``StoreLoader`` options (``batch_size``, ``shuffle``, ``seed``, ...).
    """

    def __init__(self, source, *, steps: int, start: float = 0.2, **options) -> None:
        super().__init__(source, **options)
        check_curriculum(0.0, start)
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"steps must be an int >= 0, got {steps!r}")
        self.steps = steps
        self.start = float(start)
        sizes = self.graphs.num_atoms[self.indices]
        self.by_size = self.indices[np.argsort(sizes, kind="stable")]  # [M] smallest first, ties by position

    def pool_size(self, step: int) -> int:
        """How many of the smallest molecules step ``step`` draws from."""
        global_batch = self.batch_size * self.world_size
        wanted = math.ceil(competence(step, self.steps, self.start) * len(self.by_size))
        return min(len(self.by_size), max(wanted, global_batch))

    def draw(self, step: int, size: int) -> np.ndarray:
        """This rank's ``size`` molecules of curriculum step ``step`` (a global draw of ``size * world_size``)."""
        rng = np.random.default_rng([self.seed, _DRAW_TAG, step])
        pool = self.pool_size(step)
        drawn = self.by_size[rng.choice(pool, size=min(size * self.world_size, pool), replace=False)]
        return drawn[self.rank :: self.world_size][:size]

    def order(self) -> np.ndarray:
        """This rank's molecule order for the current epoch: curriculum draws in the batches of steps < T."""
        order = super().order()
        per_epoch = len(order) // self.batch_size if self.drop_last else -(-len(order) // self.batch_size)
        first = self.epoch * per_epoch
        if first >= self.steps:
            return order
        order = order.copy()
        for b in range(min(per_epoch, self.steps - first)):
            start, stop = b * self.batch_size, min((b + 1) * self.batch_size, len(order))
            order[start:stop] = self.draw(first + b, stop - start)
        return order


__all__ = ["SizeCurriculumLoader", "check_curriculum", "competence"]
