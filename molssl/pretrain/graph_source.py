"""Molecular graphs as the pretraining loop's ``DataSource``, and the "graph" opener of ``open_source``.

``GraphSource`` holds featurized molecules (``GraphArrays``), optionally with a label matrix, and
collates PyG batches by a vectorized gather (``molssl.graph.batch.to_batch``). The opener takes what
``molssl pretrain --data`` takes for graphs: ``None``/``"embedded"`` (the MOSES sample), a SMILES/CSV
file, a molecule store directory, a ``MoleculeStore`` or ``GraphArrays`` (``molssl.pretrain.data``
reads and featurizes them), or for supervised pretraining a labeled CSV or MoleculeNet name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from molssl.graph.arrays import GraphArrays
from molssl.graph.batch import to_batch
from molssl.pretrain.source import DataSource, register_source
from molssl.ssl.checks import check_known_keys


@dataclass
class GraphSource(DataSource):
    """Featurized molecules ready for the loop.

    Attributes:
        graphs: the featurized molecules.
        scheme: the featurization scheme (``describe()``).
        description: plain data about the source (path, digest or store, counts, skipped rows).
        targets: [M, T] float labels (NaN = missing) for supervised pretraining, else ``None``;
            attached to each batch as ``y``.
        task_names, task_type: of the labels.
        skipped: the input rows that could not be featurized.
        store: the molecule store the graphs come from (``None`` for in-memory data); methods whose
            targets are computed from the molecules (descriptor prediction) read its SMILES.
    """

    modality: ClassVar[str] = "graph"
    unit: ClassVar[str] = "graphs"

    graphs: GraphArrays
    scheme: dict
    description: dict[str, Any]
    targets: np.ndarray | None = None
    task_names: tuple[str, ...] = ()
    task_type: str | None = None
    skipped: list = field(default_factory=list)
    store: Any = None

    def __len__(self) -> int:
        return len(self.graphs)

    def batch(self, indices: Tensor, generator: torch.Generator) -> Any:
        """The PyG batch of molecules ``indices`` (with ``y`` when the source has targets); draws nothing."""
        idx = indices.numpy()
        extra = None
        if self.targets is not None:
            extra = {"y": torch.from_numpy(np.ascontiguousarray(self.targets[idx]))}
        return to_batch(self.graphs.select(idx), extra)

    def describe(self) -> dict[str, Any]:
        return self.description

    def preprocessing(self) -> dict[str, Any]:
        """The featurization scheme, as plain data."""
        scheme = self.scheme
        return {"scheme": scheme.to_dict() if hasattr(scheme, "to_dict") else dict(scheme)}

    def encoder_options(self) -> dict[str, Any]:
        return {"scheme": self.scheme}

    def sizes(self) -> Tensor:
        """[M] atoms per molecule."""
        return torch.from_numpy(np.asarray(self.graphs.num_atoms))

    @property
    def origin(self) -> str:
        """The file (or store) the molecules came from, for messages."""
        source = self.description.get("source")
        if isinstance(source, dict):
            source = source.get("path")
        return str(source or self.description.get("store") or f"the {self.description.get('kind', 'given')} data")


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
    from molssl.pretrain.data import labeled_data, unlabeled_data

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

__all__ = ["GraphDataOptions", "GraphSource", "open_graph_source"]
