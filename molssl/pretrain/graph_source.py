"""Molecular graphs as the pretraining loop's ``DataSource``.

``GraphSource`` holds featurized molecules (``GraphArrays``), optionally with a label matrix, and
collates PyG batches by a vectorized gather (``molssl.graph.batch.to_batch``). ``molssl.pretrain.data``
reads and featurizes what a run names and opens it as a ``GraphSource`` (the "graph" opener of
``open_source``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from molssl.graph.arrays import GraphArrays
from molssl.graph.batch import to_batch
from molssl.pretrain.source import DataSource


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


__all__ = ["GraphSource"]
