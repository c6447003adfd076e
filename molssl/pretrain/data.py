"""What a graph pretraining run reads: a corpus file, a molecule store, the embedded corpus, or labeled data.

``open_graph_source`` is the "graph" opener of ``molssl.pretrain.source.open_source``: it takes what
``molssl pretrain --data`` takes for graphs (``None``/``"embedded"``, a SMILES/CSV file, a store directory,
a ``MoleculeStore`` or ``GraphArrays``, or for supervised pretraining a labeled CSV or MoleculeNet name).

Unlabeled data becomes a molecule store (cached on disk by file content and scheme); labeled data
(for supervised pretraining) is featurized in memory with its label matrix, regression targets
standardized. Every molecule that cannot be featurized is recorded, never dropped silently.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from molssl.data.store import MoleculeStore
from molssl.data.store_build import build_store
from molssl.graph.arrays import GraphArrays
from molssl.pretrain.graph_source import GraphSource
from molssl.pretrain.source import register_source
from molssl.ssl.checks import check_known_keys

logger = logging.getLogger(__name__)


def _report_skipped(source: str, skipped: list, where: str) -> None:
    """Warn about input rows that could not be featurized (they are listed in ``where``)."""
    if skipped:
        first = skipped[0]
        logger.warning("%s: %d row(s) could not be featurized and are not trained on (listed in %s); first: row %d %r: %s",
                       source, len(skipped), where, first.index, first.smiles, first.reason)  # fmt: skip


def _from_store(store: MoleculeStore) -> GraphSource:
    skipped = store.skipped()
    _report_skipped(str((store.meta.get("source") or {}).get("path", store.path)), skipped, str(store.path / "skipped.jsonl"))
    return GraphSource(
        graphs=store.graphs,
        scheme=store.spec,
        description={"kind": "store", "store": str(store.path), "source": store.meta.get("source"),
                     "molecules": len(store), "skipped": len(skipped)},  # fmt: skip
        skipped=skipped,
        store=store,
    )


def unlabeled_data(
    source: str | os.PathLike | MoleculeStore | GraphArrays | None,
    scheme: str = "hu",
    workers: int = 1,
    cache_dir: str | os.PathLike | None = None,
    smiles_column: str | None = None,
) -> GraphSource:
    """Open or build the molecule store of ``source``.

    Args:
        source: ``None`` or ``"embedded"`` (the embedded 50,000-molecule MOSES sample), a store
            directory, a SMILES/CSV/TSV file (gzip allowed), a ``MoleculeStore`` or ``GraphArrays``
            (then ``scheme`` must name the scheme they were featurized with).
        scheme: featurization scheme for files.
        workers: featurization processes when a store is built.
        cache_dir: where stores are cached (default ``molssl.data.store_build.default_cache_dir()``).
        smiles_column: SMILES column of a CSV/TSV.
    """
    if isinstance(source, MoleculeStore):
        return _from_store(source)
    if isinstance(source, GraphArrays):
        from molssl.chem.schemes import get_spec

        return GraphSource(source, get_spec(scheme), {"kind": "arrays", "molecules": len(source)})
    if source is None or str(source) == "embedded":
        from molssl.data.embedded import default_corpus

        source = default_corpus()
    path = Path(source)
    if path.is_dir():
        store = MoleculeStore(path)
        if store.spec.name != scheme:
            raise ValueError(f"{path}: the store was featurized with scheme {store.spec.name!r}, not {scheme!r}; pass scheme={store.spec.name!r}")
        return _from_store(store)
    if not path.is_file():
        raise FileNotFoundError(f"pretraining data {str(source)!r}: no such file or store directory")
    return _from_store(build_store(path, scheme=scheme, cache_dir=cache_dir, smiles_column=smiles_column, workers=workers))


def labeled_data(
    source: Any,
    scheme: str = "hu",
    target_columns: list[str] | None = None,
    smiles_column: str | None = None,
    task_type: str | None = None,
    workers: int = 1,
) -> GraphSource:
    """Featurize a labeled table (CSV path, ``LabeledTable`` or MoleculeNet name) for supervised pretraining.

    Regression targets are standardized per task over the observed labels (mean and std recorded in
    the description).
    """
    from molssl.chem.featurize import featurize_many
    from molssl.data.labeled_source import load_labeled_table

    table = load_labeled_table(source, smiles_column, target_columns, task_type)
    result = featurize_many(table.smiles, scheme=scheme, on_error="skip", workers=workers, rows=table.rows, source=table.source)
    targets = table.labels[result.indices].astype(np.float32)
    description: dict[str, Any] = {"kind": "labeled", "source": table.source, "molecules": len(result),
                                   "skipped": len(result.skipped), "skipped_rows": [r.to_dict() for r in result.skipped],
                                   "task_names": list(table.task_names), "task_type": table.task_type}  # fmt: skip
    _report_skipped(str(table.source), result.skipped, "the run's config.json, data.skipped_rows")
    if table.task_type == "regression":
        from molssl.tasks.target_scaler import TargetScaler

        scaler = TargetScaler.fit(targets)
        targets = scaler.transform(targets)
        description["standardized"] = scaler.to_dict()
    return GraphSource(result.graphs, result.scheme, description, targets, tuple(table.task_names), table.task_type, list(result.skipped))


@dataclass(frozen=True, kw_only=True)
class GraphDataOptions:
    """The graph opener's options (``molssl pretrain --data-option KEY=VALUE``, or ``--scheme``/``--targets``).

    Attributes:
        scheme: featurization scheme for files (a store brings its own and must match).
        smiles_column: SMILES column of a CSV/TSV.
        target_columns: label columns of a labeled CSV (supervised pretraining).
        task_type: ``"classification"`` or ``"regression"`` of a labeled CSV (default: guessed).
    """

    scheme: str = "hu"
    smiles_column: str | None = None
    target_columns: tuple[str, ...] | None = None
    task_type: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.scheme, str):
            raise ValueError(f"scheme must be a scheme name, got {self.scheme!r}")
        if isinstance(self.target_columns, str):
            object.__setattr__(self, "target_columns", (self.target_columns,))
        elif self.target_columns is not None:
            object.__setattr__(self, "target_columns", tuple(self.target_columns))


def open_graph_source(data: Any, options: dict[str, Any], *, labels: bool = False, workers: int = 1) -> GraphSource:
    """Open (featurizing or finding the cached store) the molecules ``data`` names.

    Raises:
        ValueError: unknown options, no labeled data for a method that needs labels.
        FileNotFoundError: a path that does not exist.
    """
    check_known_keys(GraphDataOptions, options)
    opts = GraphDataOptions(**options)
    if isinstance(data, GraphSource):
        source = data
    elif labels:
        if data is None:
            raise ValueError("this method trains on labels: pass a labeled CSV or a MoleculeNet name as data")
        columns = None if opts.target_columns is None else list(opts.target_columns)
        source = labeled_data(data, scheme=opts.scheme, target_columns=columns, smiles_column=opts.smiles_column,
                              task_type=opts.task_type, workers=workers)  # fmt: skip
    else:
        source = unlabeled_data(data, scheme=opts.scheme, workers=workers, smiles_column=opts.smiles_column)
    if labels and source.targets is None:
        raise ValueError(f"this method needs labeled data; {source.description.get('kind')} data has no labels")
    return source


register_source("graph", open_graph_source)

__all__ = ["GraphDataOptions", "labeled_data", "open_graph_source", "unlabeled_data"]
