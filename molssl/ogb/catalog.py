"""The ogbg-mol* datasets of the Open Graph Benchmark: metadata as plain data.

Hu et al., "Open Graph Benchmark: Datasets for Machine Learning on Graphs" (NeurIPS 2020). The values
are those of the molecule columns of ``ogb/graphproppred/master.csv`` in OGB 1.3.6 (MIT License,
Copyright (c) 2019 OGB Team), restated here as Python data so the harness needs no file of the ``ogb``
package to know a dataset; ``tests/ogb/test_catalog.py`` checks every value against that file.
The release sizes of the two leaderboard datasets come from OGB's documentation (see ``num_graphs``).
Every ogbg-mol* set is stored the same way: 9 atom and 3 bond features (``ogb.utils.smiles2graph``),
each bond once in ``raw/edge.csv.gz`` with its inverse added on reading, and a scaffold split.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

#: OGB's ``eval metric`` names -> how the leaderboard writes them in its column headers
METRIC_DISPLAY: Mapping[str, str] = MappingProxyType({"rocauc": "ROC-AUC", "ap": "AP", "rmse": "RMSE"})

_URL = "http://snap.stanford.edu/ogb/data/graphproppred/csv_mol_download/"


@dataclass(frozen=True)
class OgbDatasetInfo:
    """Metadata of one ogbg-mol* dataset (a column of OGB's ``master.csv``).

    Attributes:
        name: the OGB name, e.g. ``"ogbg-molhiv"``.
        num_tasks: number of prediction tasks (label columns).
        eval_metric: OGB's metric name: ``"rocauc"``, ``"ap"`` or ``"rmse"``.
        task_type: ``"binary classification"`` or ``"regression"`` (OGB's wording).
        download_name: the folder inside OGB's zip (and the zip's stem), e.g. ``"hiv"``.
        version: the release; a complete copy holds ``RELEASE_v{version}.txt``.
        url: where OGB distributes the zip.
        split: the split folder under ``split/`` (``"scaffold"`` for every molecule set).
        add_inverse_edge: each stored edge is followed by its inverse when read (True for molecules).
        num_classes: 2 for classification, -1 for regression (as in ``master.csv``).
        num_graphs: graphs in the official release, where OGB states it (``master.csv`` does not): the
            leaderboard datasets' "#Graphs" of https://ogb.stanford.edu/docs/graphprop/; None elsewhere.
    """

    name: str
    num_tasks: int
    eval_metric: str
    task_type: str
    download_name: str
    version: int = 1
    split: str = "scaffold"
    add_inverse_edge: bool = True
    num_graphs: int | None = None

    @property
    def url(self) -> str:
        return f"{_URL}{self.download_name}.zip"

    @property
    def num_classes(self) -> int:
        return 2 if self.is_classification else -1

    @property
    def is_classification(self) -> bool:
        return "classification" in self.task_type

    @property
    def molssl_task_type(self) -> str:
        """``"classification"`` or ``"regression"``, molssl's task-type names."""
        return "classification" if self.is_classification else "regression"

    @property
    def dir_name(self) -> str:
        """The dataset's folder under a root, as OGB names it: ``ogbg-molhiv`` -> ``ogbg_molhiv``."""
        return self.name.replace("-", "_")

    @property
    def metric_display(self) -> str:
        return METRIC_DISPLAY[self.eval_metric]

    @property
    def higher_is_better(self) -> bool:
        return self.eval_metric != "rmse"


def _cls(name: str, num_tasks: int, download_name: str, metric: str = "rocauc", num_graphs: int | None = None) -> OgbDatasetInfo:
    return OgbDatasetInfo(name, num_tasks, metric, "binary classification", download_name, num_graphs=num_graphs)


def _reg(name: str, download_name: str) -> OgbDatasetInfo:
    return OgbDatasetInfo(name, 1, "rmse", "regression", download_name)


_ENTRIES = (
    _cls("ogbg-molbace", 1, "bace"),
    _cls("ogbg-molbbbp", 1, "bbbp"),
    _cls("ogbg-molclintox", 2, "clintox"),
    _cls("ogbg-molmuv", 17, "muv", metric="ap"),
    _cls("ogbg-molpcba", 128, "pcba", metric="ap", num_graphs=437_929),
    _cls("ogbg-molsider", 27, "sider"),
    _cls("ogbg-moltox21", 12, "tox21"),
    _cls("ogbg-moltoxcast", 617, "toxcast"),
    _cls("ogbg-molhiv", 1, "hiv", num_graphs=41_127),
    _reg("ogbg-molesol", "esol"),
    _reg("ogbg-molfreesolv", "freesolv"),
    _reg("ogbg-mollipo", "lipophilicity"),
    _cls("ogbg-molchembl", 1310, "chembl"),
)

#: every ogbg-mol* dataset, keyed by OGB name (read-only)
OGB_MOL_DATASETS: Mapping[str, OgbDatasetInfo] = MappingProxyType({info.name: info for info in _ENTRIES})


def get_ogb_dataset(name: str) -> OgbDatasetInfo:
    """The catalog entry of an ogbg-mol* dataset.

    Accepts the OGB name (``"ogbg-molhiv"``), its folder name (``"ogbg_molhiv"``) or the short name
    (``"molhiv"``), case-insensitively.

    Raises:
        ValueError: unknown name; the message lists the valid names and the closest match.
    """
    key = str(name).strip().lower().replace("_", "-")
    if not key.startswith("ogbg-"):
        key = f"ogbg-{key}"
    if key in OGB_MOL_DATASETS:
        return OGB_MOL_DATASETS[key]
    close = difflib.get_close_matches(key, list(OGB_MOL_DATASETS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"unknown OGB molecule dataset {name!r}{hint}; valid names: {', '.join(OGB_MOL_DATASETS)}. "
        "(Only the ogbg-mol* graph property prediction sets are supported.)"
    )


__all__ = ["METRIC_DISPLAY", "OGB_MOL_DATASETS", "OgbDatasetInfo", "get_ogb_dataset"]
