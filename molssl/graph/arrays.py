"""Many small graphs held as flat arrays with offsets: the common currency of featurizers and the store.

A ``GraphArrays`` holds M graphs. Graph ``i`` owns atoms ``atom_ptr[i]:atom_ptr[i+1]`` of ``x`` and edges
``edge_ptr[i]:edge_ptr[i+1]`` of ``edge_index``/``edge_attr``. Edge indices are *local* (0-based within
their graph), so any subset of graphs can be gathered without rewriting them.

Shapes:
    x: [A, F_atom]          integer atom features (A = total atoms)
    edge_index: [2, E]      local source/target atom of each directed edge (E = total edges)
    edge_attr: [E, F_bond]  integer bond features
    atom_ptr, edge_ptr: [M + 1]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def ranges_to_index(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, s + c)`` for every (start, count) pair, without a Python loop.

    Shapes:
        starts, counts: [K] -> [counts.sum()]
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    shift = np.repeat(np.asarray(starts, dtype=np.int64) - (ends - counts), counts)
    return np.arange(total, dtype=np.int64) + shift


def offsets(counts: np.ndarray) -> np.ndarray:
    """Exclusive prefix sums with the total appended: ``[0, c0, c0+c1, ...]``; shape [K] -> [K + 1]."""
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


@dataclass(frozen=True)
class GraphArrays:
    """M graphs in flat arrays with offsets (see the module docstring for the layout)."""

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    atom_ptr: np.ndarray
    edge_ptr: np.ndarray

    def __post_init__(self) -> None:
        m = len(self.atom_ptr) - 1
        if m < 0 or len(self.edge_ptr) != m + 1:
            raise ValueError(f"atom_ptr and edge_ptr must both have M + 1 entries, got {len(self.atom_ptr)} and {len(self.edge_ptr)}")
        if self.x.ndim != 2 or self.edge_attr.ndim != 2 or self.edge_index.ndim != 2 or self.edge_index.shape[0] != 2:
            raise ValueError("x and edge_attr must be 2-D and edge_index must have shape [2, E]")
        if self.x.shape[0] != int(self.atom_ptr[-1]):
            raise ValueError(f"x has {self.x.shape[0]} rows but atom_ptr ends at {int(self.atom_ptr[-1])}")
        if self.edge_index.shape[1] != int(self.edge_ptr[-1]) or self.edge_attr.shape[0] != int(self.edge_ptr[-1]):
            raise ValueError("edge_index/edge_attr lengths do not match edge_ptr")

    def __len__(self) -> int:
        return len(self.atom_ptr) - 1

    @property
    def num_atoms(self) -> np.ndarray:
        """Atoms per graph, shape [M]."""
        return np.diff(self.atom_ptr)

    @property
    def num_edges(self) -> np.ndarray:
        """Directed edges per graph, shape [M]."""
        return np.diff(self.edge_ptr)

    def select(self, indices: Sequence[int] | np.ndarray) -> "GraphArrays":
        """The graphs at ``indices`` (any order, repeats allowed), as a new ``GraphArrays``."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"graph index out of range for {len(self)} graphs")
        idx = idx % max(len(self), 1)
        atom_counts = self.atom_ptr[idx + 1] - self.atom_ptr[idx]
        edge_counts = self.edge_ptr[idx + 1] - self.edge_ptr[idx]
        atom_rows = ranges_to_index(self.atom_ptr[idx], atom_counts)
        edge_rows = ranges_to_index(self.edge_ptr[idx], edge_counts)
        return GraphArrays(
            x=self.x[atom_rows],
            edge_index=self.edge_index[:, edge_rows],
            edge_attr=self.edge_attr[edge_rows],
            atom_ptr=offsets(atom_counts),
            edge_ptr=offsets(edge_counts),
        )

    def graph(self, i: int):
        """Graph ``i`` as a ``torch_geometric.data.Data`` (int64 tensors)."""
        a0, a1 = int(self.atom_ptr[i]), int(self.atom_ptr[i + 1])
        e0, e1 = int(self.edge_ptr[i]), int(self.edge_ptr[i + 1])
        from molssl.graph.data import graph_data

        return graph_data(
            self.x[a0:a1].astype(np.int64), self.edge_index[:, e0:e1].astype(np.int64), self.edge_attr[e0:e1].astype(np.int64)
        )

    @staticmethod
    def concat(parts: Sequence["GraphArrays"]) -> "GraphArrays":
        """Join several ``GraphArrays`` (with the same feature widths) end to end."""
        if not parts:
            raise ValueError("concat needs at least one GraphArrays")
        atom_counts = np.concatenate([p.num_atoms for p in parts])
        edge_counts = np.concatenate([p.num_edges for p in parts])
        return GraphArrays(
            x=np.concatenate([p.x for p in parts]),
            edge_index=np.concatenate([p.edge_index for p in parts], axis=1),
            edge_attr=np.concatenate([p.edge_attr for p in parts]),
            atom_ptr=offsets(atom_counts),
            edge_ptr=offsets(edge_counts),
        )
