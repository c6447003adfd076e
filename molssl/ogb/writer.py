"""Writing molecules in OGB's on-disk layout: for tests, benchmarks, and datasets of your own.

``write_ogb_dataset`` writes graphs, labels, SMILES and a split as the files OGB's zip holds (see
``molssl.ogb.layout``), so the harness (and OGB's own readers) read them like an official copy.
``build_ogb_dataset`` does it for a labeled table: featurize with OGB's features, scaffold-split as OGB
does, write. A built copy carries ``molssl_build.json`` (its provenance) and a release note saying it is
not an official OGB release, so a result on it is never mistaken for a leaderboard result.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from molssl.data.corpus import PathLike
from molssl.data.labeled import LabeledTable
from molssl.data.splits import Split
from molssl.files import file_sha256, staged_directory
from molssl.graph.arrays import GraphArrays, offsets
from molssl.ogb.catalog import get_ogb_dataset
from molssl.ogb.layout import MAPPING_FILE, PROVENANCE_FILE

FEATURIZERS = ("molssl", "smiles2graph")


def graphs_from_smiles2graph(smiles: Sequence[str]) -> GraphArrays:
    """Graphs of ``ogb.utils.smiles2graph`` (OGB's own featurizer) for each SMILES, as ``GraphArrays``.

    Raises:
        ValueError: naming the first SMILES RDKit cannot parse.
    """
    from ogb.utils import smiles2graph
    from rdkit import Chem

    xs, edges, feats, atom_counts, edge_counts = [], [], [], [], []
    for i, s in enumerate(smiles):
        if Chem.MolFromSmiles(s) is None:
            raise ValueError(f"row {i}: RDKit cannot parse SMILES {s!r}")
        g = smiles2graph(s)
        xs.append(g["node_feat"])
        edges.append(g["edge_index"])
        feats.append(g["edge_feat"])
        atom_counts.append(g["num_nodes"])
        edge_counts.append(g["edge_index"].shape[1])
    if not xs:
        return GraphArrays(np.zeros((0, 9), np.int64), np.zeros((2, 0), np.int64), np.zeros((0, 3), np.int64),
                           np.zeros(1, np.int64), np.zeros(1, np.int64))  # fmt: skip
    return GraphArrays(
        x=np.concatenate(xs), edge_index=np.concatenate(edges, axis=1), edge_attr=np.concatenate(feats),
        atom_ptr=offsets(np.asarray(atom_counts)), edge_ptr=offsets(np.asarray(edge_counts)),
    )  # fmt: skip


def _bonds(graphs: GraphArrays) -> tuple[np.ndarray, np.ndarray]:
    """Each bond once (the even edges) with its features, after checking edge 2k+1 is the inverse of 2k."""
    if (graphs.num_edges % 2).any():
        raise ValueError("every graph must hold both directions of each bond (an even number of edges)")
    forward, backward = graphs.edge_index[:, 0::2], graphs.edge_index[:, 1::2]
    if not (np.array_equal(forward[0], backward[1]) and np.array_equal(forward[1], backward[0])
            and np.array_equal(graphs.edge_attr[0::2], graphs.edge_attr[1::2])):  # fmt: skip
        raise ValueError(
            "edges must come in pairs, edge 2k+1 the inverse of edge 2k with the same features, as "
            "featurize_many and ogb.utils.smiles2graph produce them"
        )
    return forward.T, graphs.edge_attr[0::2]


def _write_ints(path: Path, array: np.ndarray) -> None:
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        np.savetxt(fh, np.asarray(array, dtype=np.int64).reshape(len(array), -1), fmt="%d", delimiter=",")


def write_ogb_dataset(
    directory: PathLike,
    graphs: GraphArrays,
    labels: np.ndarray,
    split: Split | Sequence[np.ndarray],
    smiles: Sequence[str],
    task_names: Sequence[str],
    *,
    version: int = 1,
    provenance: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a dataset in OGB's on-disk layout (atomically: a temporary folder renamed into place).

    Args:
        directory: the dataset folder to create, e.g. ``<root>/ogbg_molbbbp``.
        graphs: M graphs with OGB's 9 atom / 3 bond features and paired inverse edges.
        labels: [M, T] labels, NaN = missing (written as ``nan``).
        split: (train, valid, test) graph indices.
        smiles: the SMILES of each graph (``mapping/mol.csv.gz``).
        task_names: T label names (the mapping's task columns).
        version: the release number (``RELEASE_v{version}.txt``).
        provenance: plain data describing where the data came from; when given (always, for
            ``build_ogb_dataset``) it is written to ``molssl_build.json``, marking the copy unofficial.
        overwrite: replace an existing ``directory``.

    Returns:
        ``directory``.
    """
    import pandas as pd

    directory = Path(directory)
    labels = np.asarray(labels, dtype=np.float64)
    labels = labels[:, None] if labels.ndim == 1 else labels
    m = len(graphs)
    if labels.shape != (m, len(task_names)) or len(smiles) != m:
        raise ValueError(f"{m} graphs need {m} SMILES and labels of shape ({m}, {len(task_names)}); got {len(smiles)} and {labels.shape}")
    parts = Split(*split) if not isinstance(split, Split) else split
    for name, part in zip(("train", "valid", "test"), parts):
        if part.size and part.max() >= m:
            raise ValueError(f"split part {name} holds index {int(part.max())}, outside the {m} graphs")
    if directory.exists() and not overwrite:
        raise FileExistsError(f"{directory} exists; pass overwrite=True to replace it")
    edge, edge_feat = _bonds(graphs)
    with staged_directory(directory) as tmp:
        for sub in ("raw", "mapping", "split/scaffold"):
            (tmp / sub).mkdir(parents=True)
        _write_ints(tmp / "raw/num-node-list.csv.gz", graphs.num_atoms)
        _write_ints(tmp / "raw/num-edge-list.csv.gz", graphs.num_edges // 2)
        _write_ints(tmp / "raw/node-feat.csv.gz", graphs.x)
        _write_ints(tmp / "raw/edge.csv.gz", edge)
        _write_ints(tmp / "raw/edge-feat.csv.gz", edge_feat)
        integral = not np.isnan(labels).any() and np.array_equal(labels, np.round(labels))
        label_frame = pd.DataFrame(labels.astype(np.int64) if integral else labels.astype(np.float32))
        gz = {"method": "gzip", "mtime": 0}
        label_frame.to_csv(tmp / "raw/graph-label.csv.gz", header=False, index=False, na_rep="nan", compression=gz)
        mapping = pd.DataFrame(labels, columns=list(task_names))
        mapping["smiles"] = list(smiles)
        mapping["mol_id"] = np.arange(m)
        mapping.to_csv(tmp / MAPPING_FILE, index=False, compression=gz)
        for name, part in zip(("train", "valid", "test"), parts):
            _write_ints(tmp / f"split/scaffold/{name}.csv.gz", part)
        note = f"# {directory.name} v{version}\n"
        if provenance is not None:
            note += "Built by molssl (molssl.ogb.writer); not an official OGB release. See molssl_build.json.\n"
            (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=1))
        (tmp / f"RELEASE_v{version}.txt").write_text(note)
    return directory


def build_ogb_dataset(
    table: LabeledTable,
    name: str,
    root: PathLike,
    *,
    split: Split | None = None,
    featurizer: str = "molssl",
    overwrite: bool = False,
) -> Path:
    """Write a labeled table as ``<root>/<ogbg_name>/`` in OGB's layout, as OGB built its molecule sets.

    Molecules RDKit cannot parse are left out (and listed in ``molssl_build.json``). The split defaults
    to molssl's deterministic 80/10/10 scaffold split of the kept molecules, the algorithm behind OGB's
    scaffold splits.

    Args:
        table: molecules and labels (e.g. ``molssl.load_moleculenet("bbbp")``); its number of tasks and
            task type must be those of dataset ``name``.
        name: the ogbg-mol* dataset it stands for (sets the folder, metric and task count).
        root: where to put the dataset folder.
        split: a split of the kept molecules (default: scaffold split).
        featurizer: ``"molssl"`` (the ``ogb`` scheme, identical to ``smiles2graph`` and faster) or
            ``"smiles2graph"`` (OGB's own function).
        overwrite: replace an existing copy.

    Returns:
        the dataset folder.
    """
    from molssl.chem.featurize import featurize_many
    from molssl.data.splits import scaffold_split

    info = get_ogb_dataset(name)
    if featurizer not in FEATURIZERS:
        raise ValueError(f"featurizer must be one of {', '.join(FEATURIZERS)}, got {featurizer!r}")
    if table.num_tasks != info.num_tasks or table.task_type != info.molssl_task_type:
        raise ValueError(
            f"{info.name} has {info.num_tasks} {info.molssl_task_type} task(s); the table has {table.num_tasks} "
            f"{table.task_type} task(s)"
        )
    result = featurize_many(table.smiles, scheme="ogb", on_error="skip", rows=table.rows, source=table.source)
    kept = result.indices
    smiles = [table.smiles[i] for i in kept.tolist()]
    graphs = result.graphs if featurizer == "molssl" else graphs_from_smiles2graph(smiles)
    parts = split if split is not None else scaffold_split(smiles)
    source = Path(table.source)
    provenance = {
        "official": False,
        "built_by": "molssl.ogb.writer.build_ogb_dataset",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "stands_for": info.name,
        "source": str(source),
        "source_sha256": file_sha256(source) if source.is_file() else None,
        "molecules": len(table),
        "kept": len(kept),
        "skipped": [s.to_dict() for s in result.skipped],
        "featurizer": "molssl scheme ogb v1" if featurizer == "molssl" else "ogb.utils.smiles2graph",
        "split": "given" if split is not None else "molssl.data.splits.scaffold_split 80/10/10 (deterministic)",
        "split_sizes": [len(p) for p in parts],
    }
    return write_ogb_dataset(Path(root) / info.dir_name, graphs, table.labels[kept], parts, smiles, table.task_names,
                             provenance=provenance, overwrite=overwrite)  # fmt: skip


__all__ = ["FEATURIZERS", "build_ogb_dataset", "graphs_from_smiles2graph", "write_ogb_dataset"]
