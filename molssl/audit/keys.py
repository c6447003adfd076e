"""Identity keys and descriptive statistics of every molecule of a corpus, computed by worker processes.

One RDKit parse per molecule yields everything the audit compares and counts: the canonical isomeric SMILES
(exact identity), the canonical SMILES without stereo or isotopes and the first InChIKey block (both
stereo-insensitive identity), the full InChIKey, the Bemis-Murcko scaffold (without stereo), and the heavy
atoms, net charge, charged atoms, fragments and elements. The columns come back as NumPy arrays, so the
audit's comparisons over millions of rows are vectorized set operations, not Python loops.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, fields
from typing import Callable, Sequence

import numpy as np

#: rows per task sent to a worker; large enough that pickling costs little against RDKit's work
CHUNK_ROWS = 5000
# below this many molecules per worker, starting processes costs more than it saves
_MIN_PER_WORKER = 2000


@dataclass(frozen=True, eq=False)
class MoleculeKeys:
    """Column arrays, one entry per input row (invalid rows: ``reason`` set, keys empty, numbers -1).

    Shapes:
        - every attribute: (n,)
    """

    reason: np.ndarray  # object: "" for a valid molecule, else why RDKit rejected it
    canonical: np.ndarray  # object: canonical isomeric SMILES
    flat: np.ndarray  # object: canonical SMILES without stereo and isotopes
    inchikey: np.ndarray  # object: full InChIKey ("" where InChI fails)
    skeleton: np.ndarray  # object: first InChIKey block (connectivity; stereo- and isotope-insensitive)
    scaffold: np.ndarray  # object: Murcko scaffold without stereo ("" for acyclic)
    heavy_atoms: np.ndarray  # int32
    net_charge: np.ndarray  # int32
    charged_atoms: np.ndarray  # int32
    fragments: np.ndarray  # int32
    elements: np.ndarray  # object: element symbols, sorted, comma-joined ("C,N,O")

    def __len__(self) -> int:
        return int(self.reason.size)

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of the rows RDKit parsed. Shapes: (n,)."""
        return self.reason == ""

    @classmethod
    def concatenate(cls, parts: Sequence[MoleculeKeys]) -> MoleculeKeys:
        """Rows of several key tables, in order."""
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


_TEXT = ("reason", "canonical", "flat", "inchikey", "skeleton", "scaffold", "elements")
_NUMBERS = ("heavy_atoms", "net_charge", "charged_atoms", "fragments")


def molecule_keys(smiles: Sequence[str], workers: int = 1, progress: Callable[[int], None] | None = None) -> MoleculeKeys:
    """Keys and statistics of every SMILES, in order; ``workers`` processes for large inputs.

    Args:
        smiles: one SMILES per row; a row RDKit cannot parse gets its reason, never an exception.
        workers: processes (inputs under 2000 molecules per worker are done in this process).
        progress: called with the number of rows finished after each chunk.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    smiles = list(smiles)
    chunks = [smiles[start:start + CHUNK_ROWS] for start in range(0, len(smiles), CHUNK_ROWS)] or [[]]
    workers = min(workers, max(1, len(smiles) // _MIN_PER_WORKER))
    parts: list[MoleculeKeys] = []
    if workers == 1:
        results = map(_chunk_keys, chunks)
        pool = None
    else:
        pool = multiprocessing.get_context().Pool(workers)
        results = pool.imap(_chunk_keys, chunks)
    try:
        for part in results:
            parts.append(part)
            if progress is not None:
                progress(len(part))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return MoleculeKeys.concatenate(parts)


def _chunk_keys(smiles: list[str]) -> MoleculeKeys:
    from rdkit import Chem, rdBase
    from rdkit.Chem.Scaffolds import MurckoScaffold

    from molssl.chem.parse import ParseOptions, parse_many

    n = len(smiles)
    text = {name: np.full(n, "", dtype=object) for name in _TEXT}
    numbers = {name: np.full(n, -1, dtype=np.int32) for name in _NUMBERS}
    mols, failures, _ = parse_many(smiles, ParseOptions(max_atoms=None, max_smiles_length=None))
    for row, reason in failures:
        text["reason"][row] = reason or "RDKit could not parse it"
    with rdBase.BlockLogs():
        for row, mol in enumerate(mols):
            if mol is None:
                continue
            text["canonical"][row] = Chem.MolToSmiles(mol)
            text["flat"][row] = Chem.MolToSmiles(mol, isomericSmiles=False)
            key = _inchikey(mol)
            text["inchikey"][row] = key
            text["skeleton"][row] = key[:14]
            try:
                text["scaffold"][row] = MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)
            except (RuntimeError, ValueError):  # RDKit's valence check on trimmed scaffolds
                text["scaffold"][row] = ""
            charges = [atom.GetFormalCharge() for atom in mol.GetAtoms()]
            numbers["heavy_atoms"][row] = mol.GetNumHeavyAtoms()
            numbers["net_charge"][row] = sum(charges)
            numbers["charged_atoms"][row] = sum(1 for c in charges if c)
            numbers["fragments"][row] = len(Chem.GetMolFrags(mol))
            text["elements"][row] = ",".join(sorted({atom.GetSymbol() for atom in mol.GetAtoms()}))
    return MoleculeKeys(**text, **numbers)


def _inchikey(mol: object) -> str:
    from rdkit import Chem

    try:
        return Chem.MolToInchiKey(mol) or ""
    except (RuntimeError, ValueError):
        return ""

