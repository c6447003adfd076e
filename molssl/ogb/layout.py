"""Reading an ogbg-mol* dataset from OGB's on-disk layout, checked, into flat graph arrays.

The layout is what OGB's zip unpacks to, under ``<root>/<ogbg_molname>/`` (``ogbg-molhiv`` ->
``ogbg_molhiv``; a ``<root>/ogbg_molhiv_pyg`` folder, as older OGB names it, is also found)::

    RELEASE_v1.txt
    mapping/mol.csv.gz                  task columns, smiles, mol_id; row i = graph i
    raw/num-node-list.csv.gz            atoms per graph, one line per graph
    raw/num-edge-list.csv.gz            bonds per graph (each bond stored once)
    raw/node-feat.csv.gz                9 integer atom features per atom, graphs one after another
    raw/edge.csv.gz                     "src,dst" per bond, atom ids local to the graph
    raw/edge-feat.csv.gz                3 integer bond features per bond
    raw/graph-label.csv.gz              one row per graph, one column per task, "nan" = missing
    split/scaffold/{train,valid,test}.csv.gz   graph indices, one per line

OGB reads each stored edge k of a graph as two directed edges, 2k (src -> dst) and 2k + 1 (dst -> src),
with the bond's features on both (``add_inverse_edge``); the graphs built here follow that order, which
is also the order of ``ogb.utils.smiles2graph`` and of molssl's featurizers. Everything is read with
pandas and numpy only: nothing is unpickled, and no file is passed to ``torch.load``.

Every file is checked as it is read: a file that is not gzip, is truncated or is not the expected table
raises ``OgbDataError`` naming it and the reason; counts must agree across files, and the bonds of
each graph must be bonds of a molecule (endpoints inside the graph, no atom bonded to itself, no pair
bonded twice), which finds bonds moved between graphs by a shifted ``num-edge-list.csv.gz``. The
parsed arrays are cached (``molssl.ogb.cache``): keyed by the sha256 of every file of the layout,
checksummed themselves, and parsed again (with a warning) when the cache is damaged.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from molssl.chem.schemes.ogb import OGB_ATOM_DIMS, OGB_BOND_DIMS
from molssl.data.corpus import PathLike
from molssl.data.splits import Split
from molssl.files import file_sha256
from molssl.graph.arrays import GraphArrays, offsets
from molssl.ogb.cache import cache_dir, load_cache, write_cache
from molssl.ogb.catalog import OgbDatasetInfo, get_ogb_dataset
from molssl.ogb.release import not_official_because

logger = logging.getLogger(__name__)

RAW_FILES = ("num-node-list", "num-edge-list", "node-feat", "edge", "edge-feat", "graph-label")
MAPPING_FILE = "mapping/mol.csv.gz"
#: written by ``molssl.ogb.writer`` into datasets it builds (absent from OGB's own releases)
PROVENANCE_FILE = "molssl_build.json"
_PARTS = ("train", "valid", "test")


class OgbLayoutError(FileNotFoundError):
    """Files of the OGB layout are missing; ``missing`` lists them relative to ``directory``."""

    def __init__(self, message: str, directory: Path, missing: list[str]):
        super().__init__(message)
        self.directory = directory
        self.missing = missing


class OgbDataError(ValueError):
    """A file of the OGB layout is present but inconsistent (counts, columns, value ranges, split)."""


def required_files(info: OgbDatasetInfo) -> list[str]:
    """Every file of a complete copy of the dataset, relative to its folder."""
    return [
        f"RELEASE_v{info.version}.txt",
        MAPPING_FILE,
        *(f"raw/{name}.csv.gz" for name in RAW_FILES),
        *(f"split/{info.split}/{part}.csv.gz" for part in _PARTS),
    ]


def dataset_dir(root: PathLike, name: str | OgbDatasetInfo) -> Path:
    """The dataset's folder under ``root`` (which may also be that folder itself).

    Looks for ``<root>/ogbg_molhiv``, then ``<root>/ogbg_molhiv_pyg``; ``root`` itself counts when it
    holds a ``raw/`` folder or a ``RELEASE_v*.txt``. Returns ``<root>/ogbg_molhiv`` when none exists.
    """
    info = name if isinstance(name, OgbDatasetInfo) else get_ogb_dataset(name)
    root = Path(root)
    for candidate in (root / info.dir_name, root / f"{info.dir_name}_pyg"):
        if candidate.is_dir():
            return candidate
    if (root / "raw").is_dir() or any(root.glob("RELEASE_v*.txt")):
        return root
    return root / info.dir_name


def missing_files(directory: PathLike, info: OgbDatasetInfo) -> list[str]:
    """The files of ``required_files(info)`` that ``directory`` lacks."""
    directory = Path(directory)
    return [rel for rel in required_files(info) if not (directory / rel).is_file()]


def check_layout(directory: PathLike, info: OgbDatasetInfo) -> None:
    """Raise ``OgbLayoutError`` listing every missing file, and how to get a complete copy."""
    directory = Path(directory)
    missing = missing_files(directory, info)
    if not missing:
        return
    if not directory.is_dir():
        what = f"no folder {directory}"
    else:
        what = f"{directory} lacks {len(missing)} file(s): {', '.join(missing)}"
        release = [m for m in missing if m.startswith("RELEASE_v")]
        if release and len(missing) == 1:
            what += f" (a copy without {release[0]} is another release of {info.name})"
    raise OgbLayoutError(
        f"{info.name}: {what}. Get the official copy from {info.url}, unzip it and move its "
        f"'{info.download_name}/' folder to {directory} (or let molssl download it when a network is available).",
        directory,
        missing,
    )


@dataclass(frozen=True, eq=False)
class OgbDataset:
    """An ogbg-mol* dataset as read from disk: graphs with OGB's features, labels, official split.

    Attributes:
        info: the catalog entry.
        directory: the dataset's folder.
        graphs: every graph with OGB's 9 atom / 3 bond features, inverse edges added.
        labels: [M, T] float32, NaN = missing (as OGB stores them for training).
        split: the official split (indices into ``graphs``).
        task_names: names of the label columns, from ``mapping/mol.csv.gz``.
        files: sha256 of every file of the layout, keyed by its path relative to ``directory``.
        provenance: ``molssl_build.json`` of a copy molssl built itself; None for OGB's own release.
        not_official_because: why the copy is not, or cannot be verified as, the official release
            (``molssl.ogb.release``); empty for the official release.
    """

    info: OgbDatasetInfo
    directory: Path
    graphs: GraphArrays
    labels: np.ndarray
    split: Split
    task_names: tuple[str, ...]
    files: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Any] | None = None
    not_official_because: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.graphs)

    @property
    def official(self) -> bool:
        """True only for a copy verified as OGB's release (see ``not_official_because``)."""
        return not self.not_official_because

    def smiles(self) -> list[str]:
        """The SMILES of every graph, in order, from ``mapping/mol.csv.gz``."""
        return _read_mapping(self.directory / MAPPING_FILE, self.info)[0]


def _read_csv(path: Path, **kwargs: Any) -> Any:
    """``pandas.read_csv`` of a layout file; a file that cannot be decompressed or decoded is an ``OgbDataError``.

    Raises:
        pandas.errors.EmptyDataError: the file holds no data (the caller decides what that means).
        OgbDataError: the file is not gzip, is truncated or damaged, or is not text.
    """
    import pandas as pd

    try:
        return pd.read_csv(path, **kwargs)
    except (EOFError, OSError, zlib.error, UnicodeDecodeError, pd.errors.ParserError) as exc:  # OSError: gzip.BadGzipFile, CRC
        raise OgbDataError(
            f"{path}: cannot be read ({type(exc).__name__}: {exc}); the file is truncated, damaged or not gzip: "
            "get a fresh copy of the dataset (OGB's zip)"
        ) from exc


def _read_int_table(path: Path, columns: int, what: str) -> np.ndarray:
    """An integer CSV without header as [rows, columns] int64; an empty file gives 0 rows."""
    import pandas as pd

    try:
        frame = _read_csv(path, header=None, dtype=np.int64)
    except pd.errors.EmptyDataError:
        return np.zeros((0, columns), dtype=np.int64)
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, OgbDataError):
            raise
        raise OgbDataError(f"{path}: {what} must be integers without header ({exc})") from None
    if frame.shape[1] != columns:
        raise OgbDataError(f"{path}: {what} must have {columns} column(s), found {frame.shape[1]}")
    return frame.to_numpy(dtype=np.int64)


def _read_labels(path: Path, info: OgbDatasetInfo) -> np.ndarray:
    import pandas as pd

    try:
        frame = _read_csv(path, header=None, dtype=np.float64)
    except pd.errors.EmptyDataError:
        return np.zeros((0, info.num_tasks), dtype=np.float32)
    except ValueError as exc:
        if isinstance(exc, OgbDataError):
            raise
        raise OgbDataError(f"{path}: labels must be numbers or 'nan' ({exc})") from None
    if frame.shape[1] != info.num_tasks:
        raise OgbDataError(f"{path}: {info.name} has {info.num_tasks} task(s), but the file has {frame.shape[1]} column(s)")
    labels = frame.to_numpy(dtype=np.float64)
    observed = ~np.isnan(labels)
    if (observed & ~np.isfinite(labels)).any():
        raise OgbDataError(f"{path}: labels must be finite numbers or 'nan'")
    if info.is_classification:
        bad = observed & (labels != 0) & (labels != 1)
        if bad.any():
            row, task = (int(v) for v in np.argwhere(bad)[0])
            raise OgbDataError(f"{path}: row {row}, task {task}: label {labels[row, task]:g} is not 0, 1 or nan ({info.name} is binary classification)")
    return labels.astype(np.float32)


def _read_mapping(path: Path, info: OgbDatasetInfo) -> tuple[list[str], tuple[str, ...]]:
    """SMILES column and task names of ``mapping/mol.csv.gz``."""
    import pandas as pd

    try:
        header = list(_read_csv(path, nrows=0).columns)
    except pd.errors.EmptyDataError:
        raise OgbDataError(f"{path}: empty, no header with a 'smiles' column") from None
    smiles_cols = [c for c in header if str(c).strip().lower() == "smiles"]
    if not smiles_cols:
        raise OgbDataError(f"{path}: no 'smiles' column (columns: {header})")
    smiles = _read_csv(path, usecols=[smiles_cols[0]], dtype=str, keep_default_na=False)[smiles_cols[0]].tolist()
    tasks = tuple(str(c) for c in header if str(c).strip().lower() not in ("smiles", "mol_id"))
    if len(tasks) != info.num_tasks:
        logger.warning("%s: %d task column(s), %s has %d; naming tasks task_0.. instead", path, len(tasks), info.name, info.num_tasks)
        tasks = tuple(f"task_{i}" for i in range(info.num_tasks))
    return smiles, tasks


def _check_ranges(values: np.ndarray, dims: tuple[int, ...], path: Path, what: str) -> None:
    bad = (values < 0) | (values >= np.asarray(dims, dtype=np.int64))
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise OgbDataError(
            f"{path}: {what} column {col} has value {values[row, col]} at row {row}, outside OGB's range "
            f"[0, {dims[col]}) (feature sizes {list(dims)}); is this an ogbg-mol* file?"
        )


def _read_split(directory: Path, info: OgbDatasetInfo, num_graphs: int) -> Split:
    parts = []
    for part in _PARTS:
        path = directory / "split" / info.split / f"{part}.csv.gz"
        idx = _read_int_table(path, 1, "split indices")[:, 0]
        if len(idx) == 0:
            raise OgbDataError(f"{path}: the {part} split is empty")
        if idx.min() < 0 or idx.max() >= num_graphs:
            raise OgbDataError(f"{path}: index {int(idx.min() if idx.min() < 0 else idx.max())} is outside [0, {num_graphs}) ({num_graphs} graphs)")
        if np.unique(idx).size != idx.size:
            raise OgbDataError(f"{path}: repeats a graph index")
        parts.append(idx)
    for (a, pa), (b, pb) in ((("train", parts[0]), ("valid", parts[1])), (("train", parts[0]), ("test", parts[2])), (("valid", parts[1]), ("test", parts[2]))):
        shared = np.intersect1d(pa, pb)
        if shared.size:
            raise OgbDataError(f"{directory / 'split' / info.split}: {shared.size} graph(s) are in both {a} and {b} (e.g. {int(shared[0])})")
    return Split(*parts)


#: columns of OGB's atom features: total degree (bonded atoms + hydrogens) and total hydrogens, and their
#: "misc" values (a count too large to state), as ``ogb.utils.features.atom_to_feature_vector`` writes them
_DEGREE, _NUM_HS = 2, 4
_DEGREE_MISC, _NUM_HS_MISC = OGB_ATOM_DIMS[_DEGREE] - 1, OGB_ATOM_DIMS[_NUM_HS] - 1


def check_bonds(edge: np.ndarray, num_nodes: np.ndarray, num_edges: np.ndarray, raw: Path, node_feat: np.ndarray | None = None) -> None:
    """Check that the bonds of each graph are the bonds of a molecule, as ``raw/num-edge-list.csv.gz`` assigns them.

    Each bond's atoms lie inside its graph, no atom is bonded to itself, no pair of atoms is bonded
    twice (RDKit, and so ``smiles2graph``, never produces either), and, given the atom features, every
    atom has as many bonds as its features say: OGB's total degree minus its hydrogens (exact for every
    molecule ``smiles2graph`` writes, unless a count is "misc"). Bond counts shifted between graphs move
    bonds into graphs where they break these, so a shifted ``num-edge-list.csv.gz`` never reads silently.

    Shapes:
        edge: [B, 2] local atom ids of each bond (``raw/edge.csv.gz``)
        num_nodes, num_edges: [M] atoms and bonds per graph
        node_feat: [A, 9] OGB atom features (``raw/node-feat.csv.gz``), optional

    Raises:
        OgbDataError: naming the files, the graph, the bond or atom and its rows.
    """
    edge_file, counts_file = raw / "edge.csv.gz", raw / "num-edge-list.csv.gz"
    bond_ptr = offsets(num_edges)
    graph_of_bond = np.repeat(np.arange(len(num_edges), dtype=np.int64), num_edges)  # [B]

    def fail(row: int, problem: str) -> OgbDataError:
        graph = int(graph_of_bond[row])
        return OgbDataError(
            f"{edge_file}: row {row} ({edge[row, 0]},{edge[row, 1]}) {problem} graph {graph} ({num_nodes[graph]} atoms, "
            f"bonds in rows {bond_ptr[graph]}..{bond_ptr[graph + 1] - 1} as {counts_file} assigns them). The files do not "
            "agree: one is damaged, or the bond counts are shifted so that bonds moved between graphs"
        )

    atoms_of_bond = num_nodes[graph_of_bond]
    outside = (edge < 0).any(axis=1) | (edge >= atoms_of_bond[:, None]).any(axis=1)
    if outside.any():
        raise fail(int(np.flatnonzero(outside)[0]), "names an atom outside")
    loops = edge[:, 0] == edge[:, 1]
    if loops.any():
        raise fail(int(np.flatnonzero(loops)[0]), "bonds an atom to itself in")
    if len(edge):
        low, high = edge.min(axis=1), edge.max(axis=1)
        width = int(num_nodes.max()) + 1
        key = (graph_of_bond * width + low) * width + high  # one number per (graph, atom pair)
        order = np.argsort(key, kind="stable")
        repeats = np.flatnonzero(key[order][1:] == key[order][:-1])
        if repeats.size:
            first, second = sorted((int(order[repeats[0]]), int(order[repeats[0] + 1])))
            raise fail(second, f"repeats the bond of row {first} in")
    if node_feat is None:
        return
    atom_ptr = offsets(num_nodes)
    ends = (edge + atom_ptr[graph_of_bond][:, None]).ravel()  # [2B] global atom of each bond end
    bonded = np.bincount(ends, minlength=len(node_feat))  # [A]
    stated = node_feat[:, _DEGREE] - node_feat[:, _NUM_HS]
    known = (node_feat[:, _DEGREE] != _DEGREE_MISC) & (node_feat[:, _NUM_HS] != _NUM_HS_MISC)
    wrong = np.flatnonzero(known & (bonded != stated))
    if wrong.size:
        atom = int(wrong[0])
        graph = int(np.searchsorted(atom_ptr, atom, side="right") - 1)
        raise OgbDataError(
            f"{edge_file}: atom {atom - atom_ptr[graph]} of graph {graph} (row {atom} of {raw / 'node-feat.csv.gz'}) has "
            f"{bonded[atom]} bond(s), but its features say {stated[atom]} (degree {node_feat[atom, _DEGREE]} minus "
            f"{node_feat[atom, _NUM_HS]} hydrogens); {len(wrong)} atom(s) disagree. The files do not agree: one is damaged, "
            f"or the bond counts of {counts_file} are shifted so that bonds moved between graphs"
        )


def parse_layout(directory: PathLike, info: OgbDatasetInfo) -> tuple[GraphArrays, np.ndarray, Split, tuple[str, ...]]:
    """Read and check the raw files, split and mapping of a complete layout (no cache).

    Raises:
        OgbDataError: naming the file and what is inconsistent.
    """
    directory = Path(directory)
    raw = directory / "raw"
    num_nodes = _read_int_table(raw / "num-node-list.csv.gz", 1, "atom counts")[:, 0]
    num_edges = _read_int_table(raw / "num-edge-list.csv.gz", 1, "bond counts")[:, 0]
    m = len(num_nodes)
    labels = _read_labels(raw / "graph-label.csv.gz", info)
    smiles, task_names = _read_mapping(directory / MAPPING_FILE, info)
    counts = {"raw/num-node-list.csv.gz": m, "raw/num-edge-list.csv.gz": len(num_edges),
              "raw/graph-label.csv.gz": len(labels), MAPPING_FILE: len(smiles)}  # fmt: skip
    if len(set(counts.values())) != 1:
        listed = ", ".join(f"{name}: {n}" for name, n in counts.items())
        raise OgbDataError(f"{directory}: mismatched number of graphs ({listed}); the files come from different copies or one is truncated")
    if (num_nodes < 0).any() or (num_edges < 0).any():
        raise OgbDataError(f"{raw}: negative atom or bond count")
    node_feat = _read_int_table(raw / "node-feat.csv.gz", len(OGB_ATOM_DIMS), "atom features")
    edge = _read_int_table(raw / "edge.csv.gz", 2, "edges")
    edge_feat = _read_int_table(raw / "edge-feat.csv.gz", len(OGB_BOND_DIMS), "bond features")
    total_atoms, total_bonds = int(num_nodes.sum()), int(num_edges.sum())
    if len(node_feat) != total_atoms:
        raise OgbDataError(f"{raw / 'node-feat.csv.gz'}: {len(node_feat)} rows, but raw/num-node-list.csv.gz counts {total_atoms} atoms")
    for name, table in (("edge.csv.gz", edge), ("edge-feat.csv.gz", edge_feat)):
        if len(table) != total_bonds:
            raise OgbDataError(f"{raw / name}: {len(table)} rows, but raw/num-edge-list.csv.gz counts {total_bonds} bonds")
    _check_ranges(node_feat, OGB_ATOM_DIMS, raw / "node-feat.csv.gz", "atom feature")
    _check_ranges(edge_feat, OGB_BOND_DIMS, raw / "edge-feat.csv.gz", "bond feature")
    check_bonds(edge, num_nodes, num_edges, raw, node_feat)
    if not info.add_inverse_edge:  # never the case for molecules; kept so the reader states its assumption
        raise OgbDataError(f"{info.name}: only datasets stored with add_inverse_edge are supported")
    edge_index = np.empty((2, 2 * total_bonds), dtype=np.int32)
    edge_index[:, 0::2] = edge.T
    edge_index[0, 1::2] = edge[:, 1]
    edge_index[1, 1::2] = edge[:, 0]
    graphs = GraphArrays(
        x=node_feat.astype(np.uint8),
        edge_index=edge_index,
        edge_attr=np.repeat(edge_feat.astype(np.uint8), 2, axis=0),
        atom_ptr=offsets(num_nodes),
        edge_ptr=2 * offsets(num_edges),
    )
    return graphs, labels, _read_split(directory, info, m), task_names


def read_ogb_dataset(root: PathLike, name: str, cache: bool = True) -> OgbDataset:
    """Read a local copy of an ogbg-mol* dataset (never downloads; see ``molssl.ogb.download``).

    Args:
        root: the folder holding ``ogbg_molhiv/`` (as OGB's ``root``), or the dataset folder itself.
        name: the dataset, e.g. ``"ogbg-molhiv"``.
        cache: reuse / write the parsed arrays in ``<dataset>/molssl/`` (a read-only copy is fine:
            the cache is then skipped with a warning).

    Raises:
        ValueError: unknown dataset name (lists the valid ones).
        OgbLayoutError: files are missing (lists them, and where to get them).
        OgbDataError: a file is inconsistent (names it and what is wrong).
    """
    info = get_ogb_dataset(name)
    directory = dataset_dir(root, info)
    check_layout(directory, info)
    digests = {rel: file_sha256(directory / rel) for rel in required_files(info)}
    provenance = read_provenance(directory)
    cache_folder = cache_dir(directory)
    parsed = load_cache(cache_folder, digests, info.num_tasks) if cache else None
    if parsed is None:
        parsed = parse_layout(directory, info)
        if cache:
            try:
                write_cache(cache_folder, parsed, digests)
            except OSError as exc:
                logger.warning("could not write the cache %s (%s); continuing without it", cache_folder, exc)
    graphs, labels, split, task_names = parsed
    note = (directory / f"RELEASE_v{info.version}.txt").read_bytes().decode("utf-8", errors="replace")
    reasons = not_official_because(info, len(graphs), provenance, note)
    return OgbDataset(info, directory, graphs, labels, split, task_names, digests, provenance, reasons)


def read_provenance(directory: PathLike) -> dict[str, Any] | None:
    """``molssl_build.json`` of a dataset folder (a copy molssl built), or None when there is none.

    Raises:
        OgbDataError: the file is not a JSON object.
    """
    path = Path(directory) / PROVENANCE_FILE
    if not path.is_file():
        return None
    try:
        provenance = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OgbDataError(f"{path}: not valid JSON ({exc}); it records where a molssl-built copy came from: rebuild the copy, or restore the file") from exc
    if not isinstance(provenance, dict):
        raise OgbDataError(f"{path}: not a JSON object (found a {type(provenance).__name__})")
    return provenance


__all__ = [
    "OGB_ATOM_DIMS", "OGB_BOND_DIMS", "OgbDataError", "OgbDataset", "OgbLayoutError", "check_bonds", "check_layout", "dataset_dir",
    "missing_files", "parse_layout", "read_ogb_dataset", "read_provenance", "required_files",
]  # fmt: skip
