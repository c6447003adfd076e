"""Which items every step of a run trains on: the loop's order, sharding and size curriculum.

An epoch is ``len(source) // batch_size`` global batches (the incomplete last one is dropped, so every
step sees a full batch). Global batch b of epoch e is ``source.order(e, seed)[b*G:(b+1)*G]`` with
``G = batch_size`` (all ranks together); rank r of W takes ``global_batch[r::W]``, so W processes see
exactly the items one process would (as ``DistributedSampler`` interleaves them).

With a size curriculum (``molssl.data.size_curriculum``: Platanios et al. 2019's competence with an
item's size as its difficulty), the batch of step t < T instead draws G items uniformly without
replacement from the ``ceil(c(t) N)`` smallest (at least G). Every draw depends only on (seed, epoch)
or (seed, step), so resuming at (epoch, batch) repeats an uninterrupted run's batches.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from molssl.data.size_curriculum import check_curriculum, competence
from molssl.pretrain.source import DataSource

#: mixed into each curriculum step's seed, so curriculum draws never coincide with the epoch permutations
_DRAW_TAG = 0x5C0E


class BatchOrder:
    """The items of every (epoch, batch) of a run, for one rank.

    Args:
        source: the data.
        batch_size: items per step over all ranks (G).
        seed: the run's seed.
        rank, world_size: this process's place; ``batch_size`` must divide by ``world_size``.
        curriculum_steps: T, the steps drawn by the size curriculum (0 = none).
        curriculum_start: c0, the share of the items, smallest first, that the first step draws from.

    Raises:
        ValueError: a curriculum on a source without item sizes, or bad curriculum options.
    """

    def __init__(self, source: DataSource, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 curriculum_steps: int = 0, curriculum_start: float = 0.2) -> None:  # fmt: skip
        if batch_size % world_size:
            raise ValueError(f"batch_size {batch_size} must be divisible by the number of processes ({world_size})")
        check_curriculum(0.0, curriculum_start)
        self.source = source
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.curriculum_steps = curriculum_steps
        self.curriculum_start = float(curriculum_start)
        self.by_size: np.ndarray | None = None
        if curriculum_steps:
            sizes = source.sizes()
            if sizes is None:
                raise ValueError(f"{source.origin}: {source.modality} items have no size, so they cannot be drawn by a "
                                 "size curriculum; set size_curriculum to 0")  # fmt: skip
            self.by_size = np.argsort(np.asarray(sizes), kind="stable").astype(np.int64)  # [N] smallest first, ties by position

    @property
    def batches_per_epoch(self) -> int:
        """Full global batches in one epoch."""
        return len(self.source) // self.batch_size

    def pool_size(self, step: int) -> int:
        """How many of the smallest items curriculum step ``step`` draws from."""
        assert self.by_size is not None
        wanted = math.ceil(competence(step, self.curriculum_steps, self.curriculum_start) * len(self.by_size))
        return min(len(self.by_size), max(wanted, self.batch_size))

    def curriculum_batch(self, step: int) -> np.ndarray:
        """[G] the global batch of curriculum step ``step``."""
        assert self.by_size is not None
        rng = np.random.default_rng([self.seed, _DRAW_TAG, step])
        pool = self.pool_size(step)
        return self.by_size[rng.choice(pool, size=min(self.batch_size, pool), replace=False)]

    def epoch(self, epoch: int) -> Tensor:
        """[batches_per_epoch, G] the global batches of ``epoch``, curriculum draws included."""
        per_epoch = self.batches_per_epoch
        order = self.source.order(epoch, self.seed)[: per_epoch * self.batch_size].reshape(per_epoch, self.batch_size)
        first = epoch * per_epoch
        if first < self.curriculum_steps:
            order = order.clone()
            for b in range(min(per_epoch, self.curriculum_steps - first)):
                order[b] = torch.from_numpy(self.curriculum_batch(first + b))
        return order

    def rank_batch(self, global_batch: Tensor) -> Tensor:
        """[G / W] this rank's share of a global batch."""
        return global_batch[self.rank :: self.world_size]


__all__ = ["BatchOrder"]
