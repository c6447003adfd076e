"""Flat per-atom and per-bond tables of RDKit properties for a chunk of molecules.

Featurization schemes are vectorized over these tables: every scheme is a set of numpy lookups on
columns that RDKit computed, so the only per-molecule Python work is getting the columns out of RDKit.
``read_tables_reference`` does that with RDKit's per-atom accessors (slow, obviously correct);
``read_tables`` is the fast path used everywhere else and must return identical tables: it decodes
RDKit's binary pickles of the whole chunk with numpy (see ``mol_pickle``).

Shapes (M molecules, A atoms and B bonds in total over the chunk):
    atom_ptr: [M + 1]     offsets of each molecule's atoms
    bond_ptr: [M + 1]     offsets of each molecule's bonds
    atom columns: [A]     atomic_num, formal_charge, chiral_tag, hybridization, total_num_hs,
                          num_radical_electrons, total_degree, is_aromatic, is_in_ring
    bond columns: [B]     begin, end (molecule-local atom indices, RDKit bond order), bond_type,
                          bond_dir, bond_stereo, is_conjugated

Enum-valued columns hold the integer value of the RDKit enum (``int(Chem.HybridizationType.SP3)``...).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from rdkit import Chem, rdBase

from molssl.chem.mol_pickle import (
    PICKLE_OPTIONS,
    SUPPORTED_VERSIONS,
    DecodedChunk,
    PickleChunk,
    decode_chunk,
    installed_pickle_version,
    installed_version_supported,
)
from molssl.chem.parse import ParseOptions, parse_many, parse_smiles, parse_stream

ATOM_COLUMNS = (
    "atomic_num",
    "formal_charge",
    "chiral_tag",
    "hybridization",
    "total_num_hs",
    "num_radical_electrons",
    "total_degree",
    "is_aromatic",
    "is_in_ring",
)
BOND_COLUMNS = ("begin", "end", "bond_type", "bond_dir", "bond_stereo", "is_conjugated")


@dataclass(frozen=True)
class MolTables:
    """Per-atom and per-bond RDKit properties of a chunk of molecules, as flat int64 arrays.

    Shapes:
        atom_ptr, bond_ptr: [M + 1]
        atoms[column]: [A]; bonds[column]: [B]
    """

    atom_ptr: np.ndarray
    bond_ptr: np.ndarray
    atoms: dict[str, np.ndarray]
    bonds: dict[str, np.ndarray]

    @property
    def num_molecules(self) -> int:
        return len(self.atom_ptr) - 1

    def num_atoms(self) -> np.ndarray:
        """Atoms per molecule, shape [M]."""
        return np.diff(self.atom_ptr)

    def num_bonds(self) -> np.ndarray:
        """Bonds per molecule, shape [M]."""
        return np.diff(self.bond_ptr)


def _atom_row(atom: Chem.Atom) -> tuple[int, ...]:
    return (
        atom.GetAtomicNum(),
        atom.GetFormalCharge(),
        int(atom.GetChiralTag()),
        int(atom.GetHybridization()),
        atom.GetTotalNumHs(),
        atom.GetNumRadicalElectrons(),
        atom.GetTotalDegree(),
        int(atom.GetIsAromatic()),
        int(atom.IsInRing()),
    )


def _bond_row(bond: Chem.Bond) -> tuple[int, ...]:
    return (
        bond.GetBeginAtomIdx(),
        bond.GetEndAtomIdx(),
        int(bond.GetBondType()),
        int(bond.GetBondDir()),
        int(bond.GetStereo()),
        int(bond.GetIsConjugated()),
    )


def _assemble(atom_rows: list, bond_rows: list, atom_counts: list[int], bond_counts: list[int]) -> MolTables:
    atom_arr = np.asarray(atom_rows, dtype=np.int64).reshape(-1, len(ATOM_COLUMNS))
    bond_arr = np.asarray(bond_rows, dtype=np.int64).reshape(-1, len(BOND_COLUMNS))
    atom_ptr = np.zeros(len(atom_counts) + 1, dtype=np.int64)
    np.cumsum(atom_counts, out=atom_ptr[1:])
    bond_ptr = np.zeros(len(bond_counts) + 1, dtype=np.int64)
    np.cumsum(bond_counts, out=bond_ptr[1:])
    return MolTables(
        atom_ptr=atom_ptr,
        bond_ptr=bond_ptr,
        atoms={name: np.ascontiguousarray(atom_arr[:, i]) for i, name in enumerate(ATOM_COLUMNS)},
        bonds={name: np.ascontiguousarray(bond_arr[:, i]) for i, name in enumerate(BOND_COLUMNS)},
    )


def read_tables_reference(mols: Sequence[Chem.Mol]) -> MolTables:
    """Read the tables with RDKit's per-atom accessors: the definition ``read_tables`` must match."""
    atom_rows: list = []
    bond_rows: list = []
    atom_counts: list[int] = []
    bond_counts: list[int] = []
    for mol in mols:
        atom_rows.extend(_atom_row(a) for a in mol.GetAtoms())
        bond_rows.extend(_bond_row(b) for b in mol.GetBonds())
        atom_counts.append(mol.GetNumAtoms())
        bond_counts.append(mol.GetNumBonds())
    return _assemble(atom_rows, bond_rows, atom_counts, bond_counts)


def _merge(decoded: DecodedChunk, fallback: np.ndarray, reference: MolTables) -> MolTables:
    """Put the rows of the decoded molecules and of the ``fallback`` molecules back in molecule order.

    Args:
        decoded: tables of all M molecules, valid where ``decoded.ok``.
        fallback: indices of the molecules with ``decoded.ok == False``, increasing.
        reference: tables of the ``fallback`` molecules, in that order.

    Shapes:
        fallback: [F]; reference.atom_ptr, reference.bond_ptr: [F + 1]; result ptrs: [M + 1]
    """
    ok_mols = np.flatnonzero(decoded.ok)
    tables = []
    for ptr_name, cols_name in (("atom_ptr", "atoms"), ("bond_ptr", "bonds")):
        dec_ptr = getattr(decoded, ptr_name)
        ref_ptr = getattr(reference, ptr_name)
        counts = np.diff(dec_ptr)
        counts[fallback] = np.diff(ref_ptr)
        out_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=out_ptr[1:])
        keep = np.repeat(decoded.ok, np.diff(dec_ptr))  # decoded rows to keep
        ok_counts = counts[ok_mols]
        ok_start = np.cumsum(ok_counts) - ok_counts  # where each kept molecule's rows start in col[keep]
        dest_ok = np.arange(int(ok_counts.sum())) + np.repeat(out_ptr[ok_mols] - ok_start, ok_counts)
        dest_ref = np.arange(int(ref_ptr[-1])) + np.repeat(out_ptr[fallback] - ref_ptr[:-1], np.diff(ref_ptr))
        cols = {}
        for name, col in getattr(decoded, cols_name).items():
            out = np.empty(int(out_ptr[-1]), dtype=np.int64)
            out[dest_ok] = col[keep]
            out[dest_ref] = getattr(reference, cols_name)[name]
            cols[name] = out
        tables.append((out_ptr, cols))
    (atom_ptr, atoms), (bond_ptr, bonds) = tables
    return MolTables(atom_ptr=atom_ptr, bond_ptr=bond_ptr, atoms=atoms, bonds=bonds)


def read_tables(mols: Sequence[Chem.Mol]) -> MolTables:
    """Read the tables for a chunk of molecules (fast path; identical to ``read_tables_reference``).

    The molecules are pickled with ``Mol.ToBinary`` (C++, ~15 us for a drug-like molecule) and all the
    pickles are decoded at once with numpy (``mol_pickle``, ~2 us per molecule in chunks of 1,000 to
    10,000). Molecules the decoder does not support (query atoms, PDB residue info, ring info that is
    not SSSR...) are read with ``read_tables_reference`` and put back in their place; if the installed
    RDKit writes a pickle version the decoder was not checked against, every molecule is (a
    ``RuntimeWarning`` says so).

    Args:
        mols: sanitized RDKit molecules.

    Returns:
        Tables equal, column by column, to ``read_tables_reference(mols)``.

    Shapes:
        atom_ptr, bond_ptr: [M + 1]; atoms[column]: [A]; bonds[column]: [B]
    """
    if len(mols) == 0 or not _fast_path_usable():
        return read_tables_reference(mols)
    to_binary = Chem.Mol.ToBinary
    pickles = [to_binary(mol, PICKLE_OPTIONS) for mol in mols]
    return read_tables_from_pickles(pickles, lambda idx: [mols[i] for i in idx])


def _fast_path_usable() -> bool:
    if installed_version_supported():
        return True
    warnings.warn(
        f"RDKit {rdBase.rdkitVersion} writes molecule pickles of version {installed_pickle_version()}, "
        f"which molssl's fast reader does not support ({sorted(SUPPORTED_VERSIONS)}): "
        "reading molecules with RDKit's per-atom accessors (correct, about 10x slower)",
        RuntimeWarning,
        stacklevel=3,
    )
    return False


def read_tables_from_pickles(pickles: Sequence[bytes], fallback: Callable[[np.ndarray], Sequence[Chem.Mol]]) -> MolTables:
    """Decode the tables from ``Mol.ToBinary(PICKLE_OPTIONS)`` pickles of a chunk of molecules.

    Args:
        pickles: one pickle per molecule, in chunk order.
        fallback: given the chunk positions the decoder does not support, returns those molecules
            (read with ``read_tables_reference`` and put back in their place).
    """
    if len(pickles) == 0:
        return read_tables_reference([])
    decoded = decode_chunk(PickleChunk.from_pickles(pickles))
    if decoded.ok.all():
        return MolTables(atom_ptr=decoded.atom_ptr, bond_ptr=decoded.bond_ptr, atoms=decoded.atoms, bonds=decoded.bonds)
    positions = np.flatnonzero(~decoded.ok)
    return _merge(decoded, positions, read_tables_reference(fallback(positions)))


class ChunkTables(NamedTuple):
    """A parsed chunk of SMILES: the tables of the usable molecules and what happened to the others.

    Attributes:
        tables: tables of the molecules that parsed, in input order.
        good: their positions in the input.
        failures: ``(position, reason)`` for every other input, in order.
        lenient: ``(position, reason)`` for the molecules of ``good`` that only lenient sanitization kept.
    """

    tables: MolTables
    good: list[int]
    failures: list[tuple[int, str]]
    lenient: list[tuple[int, str]]


def read_tables_for_smiles(smiles: Sequence[object], options: ParseOptions = ParseOptions()) -> ChunkTables:
    """Parse a chunk of SMILES (as ``parse.parse_stream`` does) and read their tables, the fastest way.

    Each molecule is pickled as soon as it is parsed and freed at once, while it is still in the CPU
    cache: about 1.5x faster than parsing a whole chunk, then pickling it, then freeing it (measured
    on MOSES). Molecules the decoder does not support are parsed again for the reference reader.
    """
    failures: list[tuple[int, str]] = []
    lenient: list[tuple[int, str]] = []
    if not _fast_path_usable():
        mols, failures, lenient = parse_many(smiles, options)
        good = [i for i, m in enumerate(mols) if m is not None]
        return ChunkTables(read_tables_reference([mols[i] for i in good]), good, failures, lenient)
    to_binary = Chem.Mol.ToBinary
    pickle_options = PICKLE_OPTIONS
    pickles: list[bytes] = []
    good: list[int] = []
    for i, mol in parse_stream(smiles, options, failures, lenient):
        pickles.append(to_binary(mol, pickle_options))
        good.append(i)

    def reparse(positions: np.ndarray) -> list[Chem.Mol]:
        return [parse_smiles(smiles[good[p]], options) for p in positions.tolist()]

    return ChunkTables(read_tables_from_pickles(pickles, reparse), good, failures, lenient)
