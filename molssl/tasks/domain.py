"""The applicability domain of a trained model, by the simplest checks a chemist can act on.

A molecule is flagged when it holds an element no training molecule had (the model never learned an
embedding for it: its atom-type row is untrained) or when its heavy-atom count lies outside the range of
the training molecules (GNN readouts extrapolate poorly in size). The flag is a reason string, empty
for molecules inside the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from molssl.chem.schemes import FeaturizationSpec
from molssl.graph.arrays import GraphArrays

#: atom feature 0 is the atomic number minus 1 in both registered schemes (``hu``: atom_type, ``ogb``: atomic_num)
_ATOMIC_NUMBER_FEATURES = ("atom_type", "atomic_num")
#: atomic number -> symbol for the messages (from RDKit's periodic table, loaded on first use)
_SYMBOLS: dict[int, str] = {}


def _symbol(atomic_number: int) -> str:
    if not _SYMBOLS:
        from rdkit import Chem

        table = Chem.GetPeriodicTable()
        _SYMBOLS.update({z: table.GetElementSymbol(z) for z in range(1, 119)})
    return _SYMBOLS.get(atomic_number, "*")


def atomic_numbers(graphs: GraphArrays, scheme: FeaturizationSpec) -> np.ndarray:
    """The atomic number of every atom (0 for the wildcard / unknown). Shape [A]."""
    if scheme.atom_features[0] not in _ATOMIC_NUMBER_FEATURES:
        raise ValueError(f"scheme {scheme.name!r} has no atomic-number feature first; the domain check needs one")
    z = graphs.x[:, 0].astype(np.int64) + 1
    return np.where(z > 118, 0, z)


@dataclass(frozen=True)
class TrainingDomain:
    """Elements and heavy-atom counts seen in training.

    Attributes:
        elements: atomic numbers present in the training molecules, sorted.
        min_atoms, max_atoms: the smallest and largest heavy-atom count of a training molecule.
    """

    elements: tuple[int, ...]
    min_atoms: int
    max_atoms: int

    @classmethod
    def from_graphs(cls, graphs: GraphArrays, scheme: FeaturizationSpec, indices: np.ndarray | None = None) -> "TrainingDomain":
        """The domain of the graphs at ``indices`` (all when None)."""
        idx = np.arange(len(graphs)) if indices is None else np.asarray(indices, dtype=np.int64)
        if idx.size == 0:
            raise ValueError("a training domain needs at least one molecule")
        counts = np.diff(graphs.atom_ptr)[idx]
        z = atomic_numbers(graphs, scheme)
        graph_of_atom = np.repeat(np.arange(len(graphs)), np.diff(graphs.atom_ptr))
        in_training = np.zeros(len(graphs), dtype=bool)
        in_training[idx] = True
        elements = np.unique(z[in_training[graph_of_atom]])
        return cls(tuple(int(e) for e in elements), int(counts.min()), int(counts.max()))

    def check(self, graphs: GraphArrays, scheme: FeaturizationSpec) -> list[str]:
        """Per graph, why it is outside the domain ("" when inside): unseen elements and/or atom count.

        Vectorized over atoms; strings are built only for the flagged graphs.
        """
        z = atomic_numbers(graphs, scheme)
        counts = np.diff(graphs.atom_ptr)
        unseen = ~np.isin(z, np.asarray(self.elements, dtype=np.int64))  # [A]
        graph_of_atom = np.repeat(np.arange(len(graphs)), counts)
        unseen_per_graph = np.bincount(graph_of_atom[unseen], minlength=len(graphs))
        outside = (counts < self.min_atoms) | (counts > self.max_atoms)
        reasons = [""] * len(graphs)
        for i in np.flatnonzero((unseen_per_graph > 0) | outside).tolist():
            parts = []
            if unseen_per_graph[i]:
                lo, hi = int(graphs.atom_ptr[i]), int(graphs.atom_ptr[i + 1])
                parts.append("element(s) not in training: " + ", ".join(_symbol(e) for e in sorted(set(z[lo:hi][unseen[lo:hi]].tolist()))))
            if outside[i]:
                parts.append(f"{int(counts[i])} heavy atoms, training range {self.min_atoms}-{self.max_atoms}")
            reasons[i] = "; ".join(parts)
        return reasons

    def to_dict(self) -> dict[str, Any]:
        return {"elements": [_symbol(e) if e else "*" for e in self.elements], "atomic_numbers": list(self.elements),
                "min_atoms": self.min_atoms, "max_atoms": self.max_atoms}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainingDomain":
        return cls(tuple(int(e) for e in data["atomic_numbers"]), int(data["min_atoms"]), int(data["max_atoms"]))


__all__ = ["TrainingDomain", "atomic_numbers"]
