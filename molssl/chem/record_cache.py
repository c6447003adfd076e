"""One molecule's scheme features from its pickle, by looking each atom and bond record up in a cache.

``featurize`` on a single SMILES cannot amortize the vectorized chunk decoder (``mol_pickle``): its
hundred-odd numpy calls cost more than parsing the molecule. But the records of molecule pickles come
from a small vocabulary (50,000 MOSES molecules hold 33 distinct atom records and 7 distinct bond
records), and a scheme's features are a function of them: an atom's features of its record (and of its
bond count and ring membership, for schemes that read ``total_degree`` or ``is_in_ring``), a bond's of
its record without the end points. ``RecordFeatureCache`` walks one pickle with a short Python loop per
atom and bond, looks each record up by its bytes, and gathers the feature rows from a table.

The cache only holds the batch path's own output: a molecule with a record not yet in it is decoded the
batch way (``mol_pickle.decode_chunk`` and ``Scheme.encode``) and its records are added, if every one of
them is plain (its length follows from its own bytes: then the walk of a molecule whose records are all
known is in step with the layout, by induction from the header). Anything else (a record that is not
plain, more than 255 atoms, ring info other than SSSR, a molecule the scheme cannot represent, a full
cache) gives None, and the caller takes the batch path.
"""

from __future__ import annotations

import struct
import threading
from typing import NamedTuple

import numpy as np

from molssl.chem.mol_pickle import (
    AFTER_RING_TAGS,
    ATOM_RECORD_LENGTH,
    BEGINBOND,
    BOND_RECORD_LENGTH,
    BOND_STEREO,
    HEADER_LEN,
    SSSR_TAGS,
    PickleChunk,
    decode_chunk,
    installed_header,
    plain_atom_record,
    plain_bond_record,
)
from molssl.chem.mol_tables import MolTables
from molssl.chem.schemes.base import Scheme

DEFAULT_MAX_RECORDS = 1 << 16
"""Most distinct atom (bond) keys a cache holds; molecules with unseen records then take the batch path."""

_CONTEXT_COLUMNS = frozenset({"total_degree", "is_in_ring"})
_HEADER = struct.Struct("<20sIIH")  # magic, version tag and version; atoms; bonds; 0x80, BEGINATOM
_BEGIN_ATOMS = 0x80 | 1 << 8
_MAX_BONDS = 1 << 14
_EDGE_GATHER = np.stack([np.arange(2 * _MAX_BONDS), np.arange(2 * _MAX_BONDS) ^ 1])
"""[2, 2 * _MAX_BONDS]: edge 2k is bond k's (begin, end), edge 2k + 1 its (end, begin)."""


class MoleculeFeatures(NamedTuple):
    """One molecule's graph arrays (int64), as ``GraphArrays.graph`` gives them.

    Shapes:
        x: [N, F_atom]; edge_index: [2, 2B] (bond k gives edges 2k and 2k + 1); edge_attr: [2B, F_bond]
    """

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray


class RecordFeatureCache:
    """Scheme features of one molecule at a time from its ``Mol.ToBinary(PICKLE_OPTIONS)`` pickle.

    Thread-safe: lookups only read; a molecule with new records adds them under a lock (rows first,
    then keys, so that a key found always has its row).

    Args:
        scheme: the featurization scheme.
        max_records: most distinct atom keys (and bond keys) to hold.
    """

    def __init__(self, scheme: Scheme, max_records: int = DEFAULT_MAX_RECORDS) -> None:
        self.scheme = scheme
        self.max_records = max_records
        self._header = installed_header()
        columns = scheme.atom_columns
        self._atom_context = columns is None or bool(_CONTEXT_COLUMNS & set(columns))
        self._atom_index: dict[object, int] = {}
        self._bond_index: dict[bytes, int] = {}
        self._atom_rows = np.zeros((0, len(scheme.spec.atom_features)), dtype=np.int64)
        self._bond_rows = np.zeros((0, 2, len(scheme.spec.bond_features)), dtype=np.int64)  # [K, 2, F]: both edges
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Distinct atom and bond keys held."""
        return len(self._atom_index) + len(self._bond_index)

    def features(self, pickle: bytes) -> MoleculeFeatures | None:
        """The molecule's features, equal to the batch path's; None where the batch path must run."""
        header, num_atoms, num_bonds, begin_atoms = _HEADER.unpack_from(pickle)
        if header != self._header or begin_atoms != _BEGIN_ATOMS or num_atoms > 255:  # wider indices: not walked here
            return None
        atom_length, bond_length = ATOM_RECORD_LENGTH, BOND_RECORD_LENGTH
        p = HEADER_LEN
        atoms: list = []
        add = atoms.append
        for _ in range(num_atoms):
            q = p + atom_length[pickle[p + 2]]
            if pickle[p + 3]:  # the isotope bit (any other bit there makes the record not plain)
                q += 4
            add(pickle[p:q])
            p = q
        if pickle[p] != BEGINBOND:
            return None
        p += 1
        bonds: list[bytes] = []
        add = bonds.append
        ends = bytearray()
        for _ in range(num_bonds):
            flags = pickle[p + 2]
            q = p + bond_length[flags]
            add(pickle[p + 2 : q])
            ends += pickle[p : p + 2]
            if flags & BOND_STEREO:
                q += pickle[q - 1]  # the stereo atoms
            p = q
        if pickle[p] not in SSSR_TAGS:
            return None
        if ends and max(ends) >= num_atoms:
            return None
        flat = np.frombuffer(ends, dtype=np.uint8)  # [2B]: begin, end of every bond
        if len(flat) > _EDGE_GATHER.shape[1]:
            return None
        keys: list = atoms
        if self._atom_context:
            in_ring = self._ring_members(pickle, p + 1, num_atoms)
            if in_ring is None:
                return None
            degree = np.bincount(flat, minlength=num_atoms).tolist()
            keys = list(zip(atoms, degree, in_ring))
        atom_index, bond_index = self._atom_index, self._bond_index
        try:
            atom_rows = [atom_index[k] for k in keys]
            bond_rows = [bond_index[k] for k in bonds]
        except KeyError:
            return self._learn(pickle, keys, bonds, flat)
        return MoleculeFeatures(
            self._atom_rows[atom_rows],
            flat.astype(np.int64)[_EDGE_GATHER[:, : len(flat)]],
            self._bond_rows[bond_rows].reshape(-1, self._bond_rows.shape[2]),
        )

    @staticmethod
    def _ring_members(pickle: bytes, p: int, num_atoms: int) -> list[int] | None:
        """Whether each atom is in a ring (0/1), from the SSSR records at ``p``; None if they do not check out."""
        num_rings = int.from_bytes(pickle[p : p + 4], "little")
        p += 4
        in_ring = [0] * num_atoms
        for _ in range(min(num_rings, 4 * num_atoms + 16)):  # a bound that keeps garbage short
            size = pickle[p]
            for atom in pickle[p + 1 : p + 1 + size]:
                if atom >= num_atoms:
                    return None
                in_ring[atom] = 1
            p += size + 1
        if num_rings > 4 * num_atoms + 16 or p >= len(pickle) or pickle[p] not in AFTER_RING_TAGS:
            return None
        return in_ring

    def _learn(self, pickle: bytes, keys: list, bonds: list[bytes], ends: np.ndarray) -> MoleculeFeatures | None:
        """Featurize the molecule the batch way and add its records to the cache."""
        decoded = decode_chunk(PickleChunk.from_pickles([pickle]))
        if not decoded.ok[0]:
            return None
        tables = MolTables(atom_ptr=decoded.atom_ptr, bond_ptr=decoded.bond_ptr, atoms=decoded.atoms, bonds=decoded.bonds)
        if self.scheme.unsupported(tables):
            return None
        graphs = self.scheme.encode(tables)
        found = MoleculeFeatures(
            x=graphs.x.astype(np.int64),
            edge_index=graphs.edge_index.astype(np.int64),
            edge_attr=graphs.edge_attr.astype(np.int64),
        )
        records = [k[0] for k in keys] if self._atom_context else keys
        in_step = (
            len(keys) == len(found.x)
            and np.array_equal(ends, found.edge_index[0])
            and all(map(plain_atom_record, records))
            and all(map(plain_bond_record, bonds))
        )
        if in_step:
            with self._lock:
                self._atom_rows, self._atom_index = self._add(self._atom_rows, self._atom_index, keys, found.x)
                both_edges = found.edge_attr.reshape(len(bonds), 2, self._bond_rows.shape[2])
                self._bond_rows, self._bond_index = self._add(self._bond_rows, self._bond_index, bonds, both_edges)
        return found

    def _add(self, table: np.ndarray, index: dict, keys: list, rows: np.ndarray) -> tuple[np.ndarray, dict]:
        """``table`` and ``index`` with the rows of the keys not in ``index`` yet (up to ``max_records``)."""
        new: dict[object, int] = {}
        for key, row in zip(keys, range(len(keys))):
            if key not in index and key not in new and len(index) + len(new) < self.max_records:
                new[key] = row
        if not new:
            return table, index
        table = np.concatenate([table, rows[list(new.values())]])
        start = len(index)
        index = {**index, **{key: start + i for i, key in enumerate(new)}}
        return table, index
