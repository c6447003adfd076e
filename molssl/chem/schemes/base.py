"""What a featurization scheme is: vectorized lookups from RDKit property tables to integer features."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Sequence

import numpy as np

from molssl.chem.schemes.spec import FeaturizationSpec
from molssl.graph.arrays import GraphArrays

if TYPE_CHECKING:  # MolTables imports RDKit; a scheme's spec must be readable without it
    from molssl.chem.mol_tables import MolTables


def categorical(values: np.ndarray, allowed: Sequence[int], other: int) -> np.ndarray:
    """Index of each value in ``allowed``; values not in ``allowed`` get ``other``.

    The vectorized form of ``allowed.index(v) if v in allowed else other`` (OGB's ``safe_index``).

    Shapes:
        values: [N] -> [N]
    """
    allowed = np.asarray(allowed, dtype=np.int64)
    lo, hi = int(allowed.min()), int(allowed.max())
    table = np.full(hi - lo + 1, other, dtype=np.int64)
    table[allowed - lo] = np.arange(len(allowed))
    values = np.asarray(values, dtype=np.int64)
    inside = (values >= lo) & (values <= hi)
    out = np.full(values.shape, other, dtype=np.int64)
    out[inside] = table[values[inside] - lo]
    return out


def enum_values(enum_type: type, names: Sequence[str]) -> list[int]:
    """Integer values of the named members of an RDKit (Boost.Python) enum, in the given order."""
    by_name = {str(member).split(".")[-1]: int(value) for value, member in enum_type.values.items()}
    return [by_name[name] for name in names]


class Scheme(ABC):
    """A named, versioned mapping from molecules to integer atom and bond features.

    Subclasses declare what they produce once, as ``spec`` (a ``FeaturizationSpec``: feature columns,
    vocabularies, reserved tokens), and implement ``atom_features`` and ``bond_features`` as vectorized
    functions of ``MolTables``. Edges are both directions of every bond, in RDKit bond order: bond k
    gives edges 2k (begin -> end) and 2k + 1 (end -> begin).

    Scheme modules import RDKit only inside the feature functions, so reading a scheme's ``spec``
    (e.g. ``EncoderConfig(scheme="hu")``) needs no RDKit.
    """

    spec: ClassVar[FeaturizationSpec]
    #: the ``MolTables`` atom columns ``atom_features`` reads (None: any of them). A scheme that reads
    #: neither ``total_degree`` nor ``is_in_ring`` lets the one-molecule path (``record_cache``) key an
    #: atom's features on its pickle record alone.
    atom_columns: ClassVar[tuple[str, ...] | None] = None

    @abstractmethod
    def atom_features(self, tables: MolTables) -> np.ndarray:
        """Integer atom features, shape [A, len(spec.atom_features)]."""

    @abstractmethod
    def bond_features(self, tables: MolTables) -> np.ndarray:
        """Integer bond features (one row per bond, not per edge), shape [B, len(spec.bond_features)]."""

    def unsupported(self, tables: MolTables) -> list[tuple[int, str]]:
        """Molecules of the chunk this scheme cannot represent, as ``(molecule index, reason)``."""
        return []

    @property
    def name(self) -> str:
        """The scheme's registry name (``spec.name``)."""
        return self.spec.name

    @property
    def dtype(self) -> np.dtype:
        """Smallest integer dtype that holds every feature value (used on disk)."""
        return np.dtype(np.uint8 if max(self.spec.atom_vocab + self.spec.bond_vocab) <= 256 else np.int16)

    def encode(self, tables: MolTables) -> GraphArrays:
        """Featurize a whole chunk of molecules into flat graph arrays (vectorized)."""
        x = self.atom_features(tables).astype(self.dtype, copy=False)
        bond_attr = self.bond_features(tables).astype(self.dtype, copy=False)
        begin = tables.bonds["begin"].astype(np.int32)
        end = tables.bonds["end"].astype(np.int32)
        edge_index = np.empty((2, 2 * len(begin)), dtype=np.int32)
        edge_index[0, 0::2] = begin
        edge_index[0, 1::2] = end
        edge_index[1, 0::2] = end
        edge_index[1, 1::2] = begin
        return GraphArrays(
            x=x.reshape(-1, len(self.spec.atom_features)),
            edge_index=edge_index,
            edge_attr=np.repeat(bond_attr.reshape(-1, len(self.spec.bond_features)), 2, axis=0),
            atom_ptr=tables.atom_ptr,
            edge_ptr=2 * tables.bond_ptr,
        )
