"""Identity keys and descriptive statistics of every molecule of a corpus, computed by worker processes.

One RDKit parse per molecule yields everything the audit compares and counts: the canonical isomeric SMILES
(exact identity), the canonical SMILES without stereo or isotopes and the first InChIKey block (both
stereo-insensitive identity), the full InChIKey, the Bemis-Murcko scaffold (without stereo), and the heavy
atoms, net charge, charged atoms, fragments and elements. The columns come back as NumPy arrays, so the
audit's comparisons over millions of rows are vectorized set operations, not Python loops.

Where the time goes (MOSES, per molecule, one core): parsing and sanitizing ~160 us, the InChIKey ~270 us,
the Murcko scaffold ~130 us, a canonical SMILES ~55 us. So the costly InChIKey can be computed lazily
(``all_inchikeys=False``): two molecules with the same InChIKey, or the same first block, have the same
heavy-atom graph (InChI moves hydrogens and charges, never heavy-atom bonds, except bonds to metals), so a
molecule whose element-labelled heavy-atom graph (``graph_hash``, bond orders and hydrogen atoms, deuterium included, ignored) no other
molecule shares cannot repeat or match by InChIKey; ``fill_inchikeys`` computes the keys of the others.
Molecules with a metal or other uncommon element get their InChIKey at once (InChI cuts bonds to metals). The cheap parts
are cheap on purpose: statistics are read from the canonical SMILES text, and a molecule without stereo or
isotopes reuses its canonical SMILES as its stereo-free one.
"""

from __future__ import annotations

import multiprocessing
import re
from dataclasses import dataclass, fields, replace
from typing import Callable, Iterable, Sequence

import numpy as np

#: rows per task sent to a worker; large enough that pickling costs little against RDKit's work
CHUNK_ROWS = 5000
# below this many molecules per worker, starting processes costs more than it saves
_MIN_PER_WORKER = 2000
#: elements InChI never disconnects (no metals): for molecules made of these (and hydrogen), equal InChIKeys
#: imply equal heavy-atom graphs
GRAPH_SAFE_ELEMENTS: frozenset[str] = frozenset({"B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Se", "Br", "I"})

# one atom of a canonical SMILES: a bracket atom (isotope, element, the rest) or an organic-subset atom
_ATOM = re.compile(r"\[(\d*)(se|as|te|si|[A-Z][a-z]?|[a-z]|\*)([^\]]*)\]|(Br|Cl|[BCNOPSFI]|[bcnops]|\*)")
_STEREO_OR_ISOTOPE = re.compile(r"[@/\\]|\[\d")


@dataclass(frozen=True, eq=False)
class MoleculeKeys:
    """Column arrays, one entry per input row (invalid rows: ``reason`` set, keys empty, numbers -1).

    Shapes:
        - every attribute: (n,)
    """

    reason: np.ndarray  # object: "" for a valid molecule, else why RDKit rejected it
    canonical: np.ndarray  # object: canonical isomeric SMILES
    flat: np.ndarray  # object: canonical SMILES without stereo and isotopes
    inchikey: np.ndarray  # object: full InChIKey ("" where InChI fails or it is not computed, see inchikey_done)
    skeleton: np.ndarray  # object: first InChIKey block (connectivity; stereo- and isotope-insensitive)
    scaffold: np.ndarray  # object: Murcko scaffold without stereo ("" for acyclic)
    heavy_atoms: np.ndarray  # int32
    net_charge: np.ndarray  # int32
    charged_atoms: np.ndarray  # int32
    fragments: np.ndarray  # int32
    elements: np.ndarray  # object: element symbols, sorted, comma-joined ("C,N,O")
    graph_hash: np.ndarray  # int64: hash of the element-labelled heavy-atom graph (bond orders, H, charges ignored)
    inchikey_done: np.ndarray  # bool: the InChIKey was computed (False: valid, but its graph is shared by no one)

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


TEXT_COLUMNS: tuple[str, ...] = ("reason", "canonical", "flat", "inchikey", "skeleton", "scaffold", "elements")
NUMBER_COLUMNS: tuple[str, ...] = ("heavy_atoms", "net_charge", "charged_atoms", "fragments")


def molecule_keys(
    smiles: Sequence[str], workers: int = 1, progress: Callable[[int], None] | None = None, all_inchikeys: bool = True
) -> MoleculeKeys:
    """Keys and statistics of every SMILES, in order; ``workers`` processes for large inputs.

    Args:
        smiles: one SMILES per row; a row RDKit cannot parse gets its reason, never an exception.
        workers: processes (inputs under 2000 molecules per worker are done in this process).
        progress: called with the number of rows finished after each chunk.
        all_inchikeys: compute every InChIKey; False leaves out those ``fill_inchikeys`` can prove unneeded
            (of molecules made only of ``GRAPH_SAFE_ELEMENTS`` and hydrogen).
    """
    _check_workers(workers)
    chunks = [(list(smiles[start:start + CHUNK_ROWS]), all_inchikeys) for start in range(0, len(smiles), CHUNK_ROWS)]
    return MoleculeKeys.concatenate(list(_map(_chunk_keys, chunks or [([], all_inchikeys)], workers, len(smiles), progress)))


def fill_inchikeys(keys: MoleculeKeys, also: Iterable[np.ndarray] = (), workers: int = 1) -> MoleculeKeys:
    """``keys`` with the InChIKeys that can match something computed: of every valid row whose graph hash
    another row of ``keys`` or any hash in ``also`` (downstream sets' ``graph_hash``) shares.

    The keys are computed from the canonical SMILES (the same molecule), once per distinct SMILES.
    """
    import pandas as pd

    _check_workers(workers)
    pending = keys.valid & ~keys.inchikey_done
    hashes = pd.Series(keys.graph_hash)
    shared = hashes.duplicated(keep=False).to_numpy()
    outside = np.concatenate([np.asarray(a, dtype=np.int64) for a in also]) if also else np.zeros(0, np.int64)
    needed = np.flatnonzero(pending & (shared | hashes.isin(outside).to_numpy()))
    inchikey, skeleton, done = keys.inchikey.copy(), keys.skeleton.copy(), keys.inchikey_done.copy()
    if needed.size:
        distinct = pd.unique(keys.canonical[needed])
        chunks = [list(distinct[i:i + CHUNK_ROWS]) for i in range(0, len(distinct), CHUNK_ROWS)]
        found = dict(zip(distinct.tolist(), (k for part in _map(_chunk_inchikeys, chunks, workers, len(distinct)) for k in part)))
        computed = [found[s] for s in keys.canonical[needed].tolist()]
        inchikey[needed] = computed
        skeleton[needed] = [k[:14] for k in computed]
        done[needed] = True
    return replace(keys, inchikey=inchikey, skeleton=skeleton, inchikey_done=done)


def _check_workers(workers: object) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")


def _map(function: Callable, chunks: list, workers: int, rows: int, progress: Callable[[int], None] | None = None):  # noqa: ANN202
    """``function`` over the chunks, in order, in ``workers`` processes when there is enough work."""
    workers = min(workers, max(1, rows // _MIN_PER_WORKER))
    pool = multiprocessing.get_context().Pool(workers) if workers > 1 else None
    try:
        for part in (pool.imap(function, chunks) if pool is not None else map(function, chunks)):
            if progress is not None:
                progress(len(part))
            yield part
    finally:
        if pool is not None:
            pool.close()
            pool.join()


def atom_statistics(canonical: str) -> tuple[int, str]:
    """Charged atoms and the comma-joined sorted element symbols of a molecule, read from its canonical SMILES.

    RDKit writes a charge only inside a bracket atom, and every atom as a bracket or organic-subset atom, so
    the text gives what a loop over the atoms would (``tests/audit`` checks it against that loop).
    """
    charged, elements = 0, set()
    for _isotope, symbol, rest, organic in _ATOM.findall(canonical):
        symbol = symbol or organic
        elements.add(symbol if symbol == "*" else symbol[0].upper() + symbol[1:])
        charged += "+" in rest or "-" in rest
    return charged, ",".join(sorted(elements))


def _graph_hash(mol: object, generator: object) -> int:
    """Hash of the element-labelled heavy-atom graph: Morgan counts (radius 2) on atomic numbers, no bond types."""
    atomic = [mol.GetAtomWithIdx(i).GetAtomicNum() for i in range(mol.GetNumAtoms())]
    counts = generator.GetSparseCountFingerprint(mol, customAtomInvariants=atomic).GetNonzeroElements()
    return hash(tuple(sorted(counts.items()))) & 0x7FFF_FFFF_FFFF_FFFF  # ints hash alike in every process


def _chunk_keys(task: tuple[list[str], bool]) -> MoleculeKeys:
    from rdkit import Chem, rdBase
    from rdkit.Chem import rdFingerprintGenerator
    from rdkit.Chem.Scaffolds import MurckoScaffold

    from molssl.chem.parse import ParseOptions, parse_stream

    smiles, all_inchikeys = task
    n = len(smiles)
    text = {name: np.full(n, "", dtype=object) for name in TEXT_COLUMNS}
    numbers = {name: np.full(n, -1, dtype=np.int32) for name in NUMBER_COLUMNS}
    graph_hash = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    generator = rdFingerprintGenerator.GetMorganGenerator(
        radius=2, bondInvariantsGenerator=rdFingerprintGenerator.GetMorganBondInvGen(useBondTypes=False))  # fmt: skip
    failures: list[tuple[int, str]] = []
    # one molecule at a time: each is used and freed while it is in the CPU cache (freeing a list of
    # thousands of RDKit molecules afterwards cost as much as their canonical SMILES)
    stream = parse_stream(smiles, ParseOptions(max_atoms=None, max_smiles_length=None), failures, [])
    with rdBase.BlockLogs():
        for row, mol in stream:
            canonical = Chem.MolToSmiles(mol)
            text["canonical"][row] = canonical
            text["flat"][row] = Chem.MolToSmiles(mol, isomericSmiles=False) if _STEREO_OR_ISOTOPE.search(canonical) else canonical
            charged, elements = atom_statistics(canonical)
            heavy = mol.GetNumHeavyAtoms()
            heavy_graph = mol if heavy == mol.GetNumAtoms() else _without_hydrogen_atoms(mol)
            if all_inchikeys or heavy_graph is None or not set(elements.split(",")) <= GRAPH_SAFE_ELEMENTS | {"H"}:
                key = _inchikey(mol)
                text["inchikey"][row], text["skeleton"][row], done[row] = key, key[:14], True
            if heavy_graph is not None:
                graph_hash[row] = _graph_hash(heavy_graph, generator)
            if mol.GetRingInfo().NumRings():
                try:
                    text["scaffold"][row] = MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)
                except (RuntimeError, ValueError):  # RDKit's valence check on trimmed scaffolds
                    text["scaffold"][row] = ""
            numbers["heavy_atoms"][row] = heavy
            numbers["net_charge"][row] = Chem.GetFormalCharge(mol)
            numbers["charged_atoms"][row] = charged
            numbers["fragments"][row] = canonical.count(".") + 1
            text["elements"][row] = elements
    for row, reason in failures:
        text["reason"][row] = reason or "RDKit could not parse it"
    return MoleculeKeys(**text, **numbers, graph_hash=graph_hash, inchikey_done=done)


def _without_hydrogen_atoms(mol: object) -> object | None:
    """The molecule without its explicit hydrogen atoms (deuterium too: InChI's first block ignores them);
    None where RDKit cannot remove them."""
    from rdkit import Chem

    try:
        return Chem.RemoveAllHs(mol)
    except (RuntimeError, ValueError):
        return None


def _chunk_inchikeys(smiles: list[str]) -> list[str]:
    from rdkit import Chem, rdBase

    with rdBase.BlockLogs():
        return [_inchikey(Chem.MolFromSmiles(s)) for s in smiles]


def _inchikey(mol: object) -> str:
    from rdkit import Chem

    if mol is None:
        return ""
    try:
        return Chem.MolToInchiKey(mol) or ""
    except (RuntimeError, ValueError):
        return ""
