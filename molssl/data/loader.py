"""Mini-batches of graph arrays as PyG ``Batch`` objects: the batches of fine-tuning, prediction and embedding.

One input, ``GraphArrays``, whether in memory (``featurize_many(...).graphs``) or memory-mapped from a
molecule store (``MoleculeStore.graphs``); inputs of another modality that index the same way and bring
their own ``collate`` (``molssl.text.inputs``) pass through too. Pretraining does not use it: its loop
orders, shards and resumes its batches itself (``molssl.pretrain.batch_order``).

Batching is a vectorized gather over the flat arrays (no per-graph Python objects), so one process
keeps well ahead of a GNN. Shuffling is a seeded permutation per epoch.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

from molssl.graph.arrays import GraphArrays
from molssl.graph.batch import to_batch


class StoreLoader:
    """Iterate over mini-batches of molecules.

    Args:
        graphs: the molecules (a store's are ``store.graphs``).
        batch_size: graphs per batch (per rank).
        shuffle: reshuffle every epoch (seeded by ``seed`` and the epoch from ``set_epoch``).
        seed: shuffling seed.
        drop_last: drop the last incomplete batch.
        indices: restrict to these molecules (e.g. a split); default all.
        targets: optional per-molecule labels, shape [M, T] or [M], attached to each batch as ``y``.
        edge_order: attach the order of each batch's messages by target atom, computed at collate
            time on the CPU, for the GPU kernels (``molssl.graph.batch.to_batch``).
    """

    def __init__(
        self,
        graphs: GraphArrays,
        batch_size: int = 256,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        indices: Sequence[int] | np.ndarray | None = None,
        targets: np.ndarray | None = None,
        edge_order: bool = False,
    ):
        self.graphs = graphs
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.indices = np.arange(len(self.graphs), dtype=np.int64) if indices is None else np.asarray(indices, dtype=np.int64)
        if targets is not None:
            targets = np.asarray(targets)
            if len(targets) != len(self.graphs):
                raise ValueError(f"targets has {len(targets)} rows for {len(self.graphs)} molecules")
        self.targets = targets
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.edge_order = edge_order
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose permutation the next iteration uses."""
        self.epoch = epoch

    def order(self) -> np.ndarray:
        """The molecule order of the current epoch, shape [len(indices)]."""
        if not self.shuffle:
            return self.indices
        rng = np.random.default_rng([self.seed, self.epoch])
        return self.indices[rng.permutation(len(self.indices))]

    def __len__(self) -> int:
        n = len(self.order())
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator:
        return self.batches()

    def batches(self, start: int = 0) -> Iterator:
        """Yield this epoch's batches, beginning at batch number ``start`` (for resuming)."""
        for idx in self.index_batches(start):
            yield self.collate(idx)

    def index_batches(self, start: int = 0) -> Iterator[np.ndarray]:
        """The molecule indices of this epoch's batches, beginning at batch number ``start``: what ``batches``
        collates (a loop over precomputed per-molecule features takes these instead).

        Shapes:
            -> [B] per batch (B = ``batch_size``, fewer in a last partial batch)
        """
        order = self.order()
        for b in range(start, len(self)):
            yield order[b * self.batch_size : (b + 1) * self.batch_size]

    def targets_of(self, idx: np.ndarray) -> torch.Tensor | None:
        """The targets of molecules ``idx`` as a batch carries them (``y``; None without targets); shape [B, T] or [B]."""
        return None if self.targets is None else torch.from_numpy(np.ascontiguousarray(self.targets[idx]))

    def collate(self, idx: np.ndarray):
        """The batch of molecules ``idx`` (a PyG ``Batch``, or another modality's batch), with ``y`` when targets are set."""
        y = self.targets_of(idx)
        extra = None if y is None else {"y": y}
        collate = getattr(self.graphs, "collate", None)  # inputs of another modality (molssl.text.inputs)
        return collate(idx, extra) if collate is not None else to_batch(self.graphs.select(idx), extra, edge_order=self.edge_order)
