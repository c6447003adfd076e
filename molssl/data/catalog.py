"""The MoleculeNet catalog: metadata of the benchmark sets used by the pretraining literature, and a loader.

MoleculeNet: Wu et al., "MoleculeNet: a benchmark for molecular machine learning", Chem. Sci. 9, 513 (2018).
The task suite (eight classification sets, three regression sets, scaffold split) follows Hu et al.,
"Strategies for Pre-training Graph Neural Networks", ICLR 2020.

Each entry records the column layout of the *canonical* MoleculeNet file (as DeepChem distributes it) and,
for the seven sets embedded in ``datasets/moleculenet/``, of the *trimmed* chemprop-style copy. Both layouts
load to the same task names, the canonical ones. Nothing here touches the network: to use a canonical file,
download it (e.g. with :func:`molssl.data.download.download`) and pass its directory as ``root``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from molssl.data.corpus import PathLike, read_table_header
from molssl.data.embedded import DATA_ENV_VAR, shipped_dirs
from molssl.data.labeled import LabeledTable, read_labeled_csv
from molssl.data.task_type import TASK_TYPES

METRICS: tuple[str, ...] = ("rocauc", "rmse")
SPLITS: tuple[str, ...] = ("scaffold", "random", "stratified")

_DEEPCHEM_URL = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/"
_SUFFIXES = (".csv", ".csv.gz")


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of one MoleculeNet dataset.

    Attributes:
        name: display name, e.g. ``'BBBP'``; its lower-case form is the catalog key.
        task_type: ``'classification'`` or ``'regression'``.
        metric: ``'rocauc'`` (classification) or ``'rmse'`` (regression), as in OGB's evaluator.
        split: the default split, ``'scaffold'`` for every set here.
        smiles_column: SMILES column of the canonical file.
        task_columns: task columns of the canonical file, which are also the task names; None means every
            column except ``smiles_column`` (ToxCast, whose 617 assay names are not listed here).
        num_tasks: number of tasks.
        url: the canonical file's download URL (DeepChem's S3 bucket).
        trimmed_file: file name of the trimmed chemprop-style copy embedded in ``datasets/moleculenet/``,
            or None when no copy is embedded.
        trimmed_smiles_column: SMILES column of the trimmed copy.
        trimmed_task_columns: task columns of the trimmed copy, in the order of ``task_columns``.
        aliases: other accepted names (lower case).
    """

    name: str
    task_type: str
    metric: str
    split: str
    smiles_column: str
    task_columns: tuple[str, ...] | None
    num_tasks: int
    url: str
    trimmed_file: str | None = None
    trimmed_smiles_column: str | None = None
    trimmed_task_columns: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"DatasetInfo {self.name!r}"
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"{where}: task_type must be one of {list(TASK_TYPES)}, got {self.task_type!r}")
        if self.metric not in METRICS:
            raise ValueError(f"{where}: metric must be one of {list(METRICS)}, got {self.metric!r}")
        expected_metric = "rocauc" if self.task_type == "classification" else "rmse"
        if self.metric != expected_metric:
            raise ValueError(f"{where}: a {self.task_type} set is scored with {expected_metric!r}, not {self.metric!r}")
        if self.split not in SPLITS:
            raise ValueError(f"{where}: split must be one of {list(SPLITS)}, got {self.split!r}")
        if self.num_tasks < 1:
            raise ValueError(f"{where}: num_tasks must be positive, got {self.num_tasks}")
        if self.task_columns is not None:
            _check_columns(where, self.smiles_column, self.task_columns, self.num_tasks)
        if not self.url.startswith("https://"):
            raise ValueError(f"{where}: url must be an https:// URL, got {self.url!r}")
        trimmed = (self.trimmed_file, self.trimmed_smiles_column, self.trimmed_task_columns)
        if any(part is None for part in trimmed) and any(part is not None for part in trimmed):
            raise ValueError(f"{where}: give all of trimmed_file, trimmed_smiles_column, trimmed_task_columns or none")
        if self.trimmed_task_columns is not None:
            if self.task_columns is None:
                raise ValueError(f"{where}: a trimmed layout needs the canonical task_columns to map onto")
            _check_columns(f"{where} (trimmed)", self.trimmed_smiles_column, self.trimmed_task_columns, self.num_tasks)
        if any(alias != alias.lower() for alias in self.aliases):
            raise ValueError(f"{where}: aliases must be lower case, got {self.aliases}")

    @property
    def key(self) -> str:
        """The catalog key: the lower-case name."""
        return self.name.lower()

    @property
    def canonical_file(self) -> str:
        """File name of the canonical download, e.g. ``'BBBP.csv'`` or ``'tox21.csv.gz'``."""
        return self.url.rsplit("/", 1)[-1]

    def file_names(self) -> tuple[str, ...]:
        """File names accepted for this set, canonical first: ``.csv`` and ``.csv.gz`` of each stem."""
        stems = [_strip_suffix(self.canonical_file)]
        if self.trimmed_file is not None:
            stems.append(_strip_suffix(self.trimmed_file))
        stems.append(self.key)
        names: list[str] = []
        for stem in stems:
            for suffix in _SUFFIXES:
                if stem + suffix not in names:
                    names.append(stem + suffix)
        return tuple(names)

    def resolve_columns(self, columns: Sequence[str], source: str = "") -> tuple[str, tuple[str, ...]]:
        """Match a file's header to the canonical or trimmed layout.

        Returns:
            the file's SMILES column and its task columns, in the order of the canonical task names.

        Raises:
            ValueError: the header fits neither layout; the message lists both and the file's columns.
        """
        columns = list(columns)
        if self.smiles_column in columns:
            if self.task_columns is None:
                return self.smiles_column, tuple(c for c in columns if c != self.smiles_column)
            if all(c in columns for c in self.task_columns):
                return self.smiles_column, self.task_columns
        if self.trimmed_task_columns is not None and self.trimmed_smiles_column in columns:
            if all(c in columns for c in self.trimmed_task_columns):
                return self.trimmed_smiles_column, self.trimmed_task_columns
        expected = f"canonical: {self.smiles_column!r} + {self._describe(self.task_columns)}"
        if self.trimmed_task_columns is not None:
            expected += f"; trimmed: {self.trimmed_smiles_column!r} + {self._describe(self.trimmed_task_columns)}"
        raise ValueError(f"{source or self.name}: columns {columns} match no layout of {self.name} ({expected})")

    @staticmethod
    def _describe(task_columns: tuple[str, ...] | None) -> str:
        if task_columns is None:
            return "every other column"
        return repr(list(task_columns)) if len(task_columns) <= 4 else f"{len(task_columns)} task columns"


def _check_columns(where: str, smiles_column: str | None, task_columns: tuple[str, ...], num_tasks: int) -> None:
    if not isinstance(task_columns, tuple):
        raise ValueError(f"{where}: task columns must be a tuple, got {type(task_columns).__name__}")
    if len(task_columns) != num_tasks:
        raise ValueError(f"{where}: {len(task_columns)} task columns but num_tasks={num_tasks}")
    if len(set(task_columns)) != len(task_columns):
        raise ValueError(f"{where}: repeated task column in {task_columns}")
    if smiles_column in task_columns:
        raise ValueError(f"{where}: the SMILES column {smiles_column!r} is also a task column")


def _strip_suffix(file_name: str) -> str:
    for suffix in (".csv.gz", ".csv"):
        if file_name.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name


TOX21_TASKS = (
    "NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD", "NR-PPAR-gamma",
    "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53",
)  # fmt: skip

SIDER_TASKS = (
    "Hepatobiliary disorders",
    "Metabolism and nutrition disorders",
    "Product issues",
    "Eye disorders",
    "Investigations",
    "Musculoskeletal and connective tissue disorders",
    "Gastrointestinal disorders",
    "Social circumstances",
    "Immune system disorders",
    "Reproductive system and breast disorders",
    "Neoplasms benign, malignant and unspecified (incl cysts and polyps)",
    "General disorders and administration site conditions",
    "Endocrine disorders",
    "Surgical and medical procedures",
    "Vascular disorders",
    "Blood and lymphatic system disorders",
    "Skin and subcutaneous tissue disorders",
    "Congenital, familial and genetic disorders",
    "Infections and infestations",
    "Respiratory, thoracic and mediastinal disorders",
    "Psychiatric disorders",
    "Renal and urinary disorders",
    "Pregnancy, puerperium and perinatal conditions",
    "Ear and labyrinth disorders",
    "Cardiac disorders",
    "Nervous system disorders",
    "Injury, poisoning and procedural complications",
)

MUV_TASKS = tuple(
    f"MUV-{n}" for n in (466, 548, 600, 644, 652, 689, 692, 712, 713, 733, 737, 810, 832, 846, 852, 858, 859)
)


def _classification(
    name: str, file: str, smiles: str, tasks: tuple[str, ...] | None, **kwargs: Any
) -> DatasetInfo:
    num_tasks = kwargs.pop("num_tasks", None) or len(tasks or ())
    return DatasetInfo(
        name, "classification", "rocauc", "scaffold", smiles, tasks, num_tasks, _DEEPCHEM_URL + file, **kwargs
    )


def _regression(name: str, file: str, smiles: str, tasks: tuple[str, ...], **kwargs: Any) -> DatasetInfo:
    return DatasetInfo(
        name, "regression", "rmse", "scaffold", smiles, tasks, len(tasks), _DEEPCHEM_URL + file, **kwargs
    )


_ENTRIES = (
    _classification(
        "BBBP", "BBBP.csv", "smiles", ("p_np",),
        trimmed_file="bbbp.csv", trimmed_smiles_column="smiles", trimmed_task_columns=("p_np",),
    ),
    _classification("Tox21", "tox21.csv.gz", "smiles", TOX21_TASKS),
    _classification("ToxCast", "toxcast_data.csv.gz", "smiles", None, num_tasks=617),
    _classification(
        "SIDER", "sider.csv.gz", "smiles", SIDER_TASKS,
        trimmed_file="sider.csv", trimmed_smiles_column="smiles", trimmed_task_columns=SIDER_TASKS,
    ),
    _classification(
        "ClinTox", "clintox.csv.gz", "smiles", ("FDA_APPROVED", "CT_TOX"),
        trimmed_file="clintox.csv", trimmed_smiles_column="smiles", trimmed_task_columns=("FDA_APPROVED", "CT_TOX"),
    ),
    _classification("MUV", "muv.csv.gz", "smiles", MUV_TASKS),
    _classification("HIV", "HIV.csv", "smiles", ("HIV_active",)),
    _classification(
        "BACE", "bace.csv", "mol", ("Class",),
        trimmed_file="bace.csv", trimmed_smiles_column="mol", trimmed_task_columns=("Class",),
    ),
    _regression(
        "ESOL", "delaney-processed.csv", "smiles", ("measured log solubility in mols per litre",),
        trimmed_file="esol.csv", trimmed_smiles_column="smiles", trimmed_task_columns=("logp",),
        aliases=("delaney",),
    ),
    _regression(
        "FreeSolv", "SAMPL.csv", "smiles", ("expt",),
        trimmed_file="freesolv.csv", trimmed_smiles_column="smiles", trimmed_task_columns=("freesolv",),
        aliases=("sampl",),
    ),
    _regression(
        "Lipophilicity", "Lipophilicity.csv", "smiles", ("exp",),
        trimmed_file="lipo.csv", trimmed_smiles_column="smiles", trimmed_task_columns=("lipo",),
        aliases=("lipo",),
    ),
)  # fmt: skip

#: The catalog, keyed by lower-case dataset name (read-only).
MOLECULENET: Mapping[str, DatasetInfo] = MappingProxyType({info.key: info for info in _ENTRIES})
_ALIASES = {alias: info.key for info in _ENTRIES for alias in info.aliases}


def get_dataset_info(name: str) -> DatasetInfo:
    """Look up a catalog entry by name or alias, case-insensitively.

    Raises:
        ValueError: unknown name; the message lists the valid names.
    """
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in MOLECULENET:
        aliases = ", ".join(f"{alias} -> {target}" for alias, target in sorted(_ALIASES.items()))
        raise ValueError(
            f"unknown MoleculeNet dataset {name!r}; valid names: {', '.join(MOLECULENET)} (aliases: {aliases})"
        )
    return MOLECULENET[key]


def _search_dirs(root: PathLike | None) -> list[Path]:
    if root is not None:
        return [Path(root)]
    env = os.environ.get(DATA_ENV_VAR)
    explicit = [Path(env) / "moleculenet", Path(env)] if env else []  # first, as in molssl.data.embedded
    return explicit + shipped_dirs("moleculenet")


def local_file_origin(path: PathLike) -> str:
    """``"embedded"`` for a file of the MoleculeNet copies shipped with molssl (``datasets/moleculenet/``), else ``"local"``."""
    return "embedded" if Path(path).resolve().parent in {d.resolve() for d in shipped_dirs("moleculenet")} else "local"


def find_dataset_file(name: str, root: PathLike | None = None) -> Path:
    """Locate the local file of a MoleculeNet set; never downloads.

    Looks in ``root`` if given, else in ``$MOLSSL_DATA/moleculenet/`` and ``$MOLSSL_DATA`` when that variable
    is set (a copy of the repository's ``datasets/``, as for :mod:`molssl.data.embedded`), then in the
    embedded copies (an installed wheel's, or ``datasets/moleculenet/`` of a source checkout). In each
    directory the names of
    :meth:`DatasetInfo.file_names` (canonical name, trimmed name, lower-case key; ``.csv`` or ``.csv.gz``)
    are matched case-insensitively, canonical name first.

    Raises:
        FileNotFoundError: no file; the message says where it looked and how to get the file.
    """
    info = get_dataset_info(name)
    dirs = _search_dirs(root)
    wanted = info.file_names()
    for directory in dirs:
        if not directory.is_dir():
            continue
        present = {entry.name.lower(): entry for entry in directory.iterdir() if entry.is_file()}
        for file_name in wanted:
            if file_name.lower() in present:
                return present[file_name.lower()]
    looked_in = ", ".join(str(d) for d in dirs) if dirs else f"nowhere ({DATA_ENV_VAR} is not set)"
    raise FileNotFoundError(
        f"no data file for MoleculeNet dataset {info.name}: looked for {', '.join(wanted)} in {looked_in}. "
        f"Download the canonical file, e.g. molssl.data.download.download({info.url!r}, "
        f"'<dir>/{info.canonical_file}'), then pass root='<dir>' or set {DATA_ENV_VAR}=<dir>."
    )


def load_moleculenet(name: str, root: PathLike | None = None) -> LabeledTable:
    """Load a MoleculeNet set from a local file, with the canonical task names.

    The file may have the canonical MoleculeNet layout or the trimmed chemprop layout; both give the same
    ``task_names`` (the canonical task columns) in the same order, so ``load_moleculenet('bbbp')`` on the
    embedded copy and on a downloaded ``BBBP.csv`` agree. The task type comes from the catalog, so a label
    outside {0, 1} in a classification set is an error. No network access: see :func:`find_dataset_file`.

    Args:
        name: dataset name or alias, case-insensitive (see :data:`MOLECULENET`).
        root: directory holding the file; the embedded copy (or ``$MOLSSL_DATA``) when None.

    Returns:
        the table; missing labels (empty cells) are NaN.

    Raises:
        ValueError: unknown name (lists the valid names) or a file whose columns fit neither layout.
        FileNotFoundError: no local file (says where it looked and how to get one).
    """
    info = get_dataset_info(name)
    path = find_dataset_file(info.key, root)
    smiles_column, task_columns = info.resolve_columns(read_table_header(path), str(path))
    if info.task_columns is None and len(task_columns) != info.num_tasks:
        warnings.warn(
            f"{path}: {info.name} has {len(task_columns)} task columns, the catalog expects {info.num_tasks}; "
            f"is this a different release of the file?",
            stacklevel=2,
        )
    table = read_labeled_csv(path, smiles_column, task_columns, task_type=info.task_type)
    task_names = info.task_columns if info.task_columns is not None else task_columns
    return dataclasses.replace(table, task_names=task_names)
