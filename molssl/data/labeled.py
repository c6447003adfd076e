"""Labeled molecule tables: a SMILES column, one or more target columns and the file's other columns (IDs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from molssl.chem.limits import DEFAULT_MAX_ATOMS, DEFAULT_MAX_SMILES_LENGTH
from molssl.data.corpus import (
    PathLike,
    find_smiles_column,
    read_table_columns,
    read_table_header,
)
from molssl.data.task_type import TASK_TYPES, detect_task_type

if TYPE_CHECKING:
    from molssl.chem.featurize import FeaturizeResult

#: Cell contents (after stripping spaces) read as a missing label. ``-1`` is *not* among them: it is a
#: valid regression target, and the canonical MoleculeNet files mark missing labels with empty cells.
MISSING_LABELS: frozenset[str] = frozenset({"", "nan", "NaN", "NAN", "NA", "N/A", "na", "n/a", "null", "NULL", "None"})


@dataclass(frozen=True, eq=False)
class LabeledTable:
    """Molecules with one label per task, missing labels as NaN.

    Attributes:
        smiles: one string per data row, in file order, exactly as in the file.
        labels: float32 array, NaN where a label is missing.
        task_names: one name per column of ``labels``.
        task_type: ``'classification'`` (labels in {0, 1}), ``'multiclass'`` (labels 0..K-1) or ``'regression'``.
        source: the file the table was read from.
        rows: int64 array, the 0-based data row (header excluded) of each molecule in ``source``.
        extra: the file's other columns (IDs, names, notes), one string per molecule, kept so outputs
            can carry them beside predictions.
        task_type_reason: why ``task_type`` was chosen (``TaskTypeDecision.explanation``, e.g. "detected: every
            observed label is 0 or 1").
        num_classes: classes per task for ``multiclass`` (max label + 1 when not given), else None.
        read_errors: molecule index -> why its record could not be read (e.g. an SDF block RDKit rejects);
            such a molecule has an empty SMILES and the featurizer reports this reason for it.

    Shapes:
        labels: ``[num_molecules, num_tasks]``; rows: ``[num_molecules]``.
    """

    smiles: list[str]
    labels: np.ndarray
    task_names: tuple[str, ...]
    task_type: str
    source: str
    rows: np.ndarray
    extra: dict[str, list[str]] = field(default_factory=dict)
    task_type_reason: str = ""
    num_classes: int | None = None
    read_errors: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels, dtype=np.float32)
        rows = np.asarray(self.rows)
        task_names = tuple(self.task_names)
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task_type must be one of {list(TASK_TYPES)}, got {self.task_type!r}")
        if labels.ndim != 2:
            raise ValueError(f"labels must be 2-D [num_molecules, num_tasks], got shape {labels.shape}")
        if labels.shape != (len(self.smiles), len(task_names)):
            raise ValueError(
                f"labels have shape {labels.shape}, expected ({len(self.smiles)}, {len(task_names)}) "
                f"for {len(self.smiles)} SMILES and {len(task_names)} tasks"
            )
        if len(set(task_names)) != len(task_names):
            raise ValueError(f"task names must be unique, got {list(task_names)}")
        if rows.shape != (len(self.smiles),) or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
            raise ValueError(f"rows must be {len(self.smiles)} integers, got shape {rows.shape}, dtype {rows.dtype}")
        if self.task_type == "classification":
            _check_binary(labels, task_names, rows, self.source)
        if self.task_type == "multiclass":
            classes = detect_task_type(labels, task_names, "multiclass", self.source).num_classes
            if self.num_classes is None:
                object.__setattr__(self, "num_classes", classes)
            elif classes is not None and classes > self.num_classes:
                raise ValueError(f"{self.source}: labels go up to class {classes - 1} but num_classes is {self.num_classes}")
        for name, values in self.extra.items():
            if len(values) != len(self.smiles):
                raise ValueError(f"extra column {name!r} has {len(values)} values for {len(self.smiles)} molecules")
        rows = rows.astype(np.int64, copy=True)
        rows.flags.writeable = False
        object.__setattr__(self, "smiles", list(self.smiles))
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "task_names", task_names)
        object.__setattr__(self, "rows", rows)

    def __len__(self) -> int:
        return len(self.smiles)

    @property
    def num_tasks(self) -> int:
        """Number of tasks (columns of ``labels``)."""
        return self.labels.shape[1]


def _check_binary(labels: np.ndarray, task_names: Sequence[str], rows: np.ndarray, source: str) -> None:
    bad = ~np.isnan(labels) & (labels != 0) & (labels != 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{source}: row {int(rows[i])}, column {task_names[j]!r}: classification label {labels[i, j]:g} is "
            f"not 0 or 1 (missing labels must be empty cells, not -1). Pass task_type='regression' if the "
            f"targets are continuous."
        )


def _parse_labels(cells: list[str], column: str, source: str) -> np.ndarray:
    """Convert one column's cells to float32, NaN for :data:`MISSING_LABELS`; raise on anything else."""
    import pandas as pd

    stripped = pd.Series(cells, dtype=object).str.strip()
    missing = stripped.isin(MISSING_LABELS).to_numpy()
    values = pd.to_numeric(stripped.where(~missing, None), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~missing & ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{source}: row {row}, column {column!r}: label {cells[row]!r} is not a finite number "
            f"(rows are 0-based and exclude the header, so this is line {row + 2} of the file). "
            f"Fix the cell, leave it empty for a missing label, or leave the column out of target_columns."
        )
    return values.astype(np.float32)


def _is_text_column(cells: list[str]) -> bool:
    """Whether no filled cell of a column is a number: an identifier or name column, never a target."""
    import pandas as pd

    stripped = pd.Series(cells, dtype=object).str.strip()
    filled = stripped[~stripped.isin(MISSING_LABELS)]
    return bool(len(filled)) and bool(pd.to_numeric(filled, errors="coerce").isna().all())


def read_labeled_csv(
    path: PathLike,
    smiles_column: str | None = None,
    target_columns: Sequence[str] | str | None = None,
    task_type: str | None = None,
) -> LabeledTable:
    """Read a labeled CSV/TSV file (optionally gzip-compressed) into a :class:`LabeledTable`.

    Missing labels: an empty cell, or one holding ``nan``, ``NA``, ``N/A``, ``null`` or ``None`` (see
    :data:`MISSING_LABELS`), becomes NaN, so multi-task files with gaps (Tox21, ToxCast, MUV, SIDER) keep
    every molecule. ``-1`` is a value, not a missing label; in a classification file it is an error.

    Targets: ``target_columns``, or when None every column other than the SMILES column except text
    columns (no filled cell is a number: IDs, names), which are kept in ``extra`` as every column that
    is not a target is. A column mixing numbers and text is an error naming the first text cell.

    Task type: detected when ``task_type`` is None (``molssl.data.task_type.detect_task_type``: 0/1 is
    classification, integers 0..K-1 with 3..10 classes multiclass, anything else regression) and
    recorded with the reason in ``task_type_reason``; a declared type the labels contradict is an error.

    No row is dropped: SMILES are kept verbatim (an empty SMILES is reported later by the featurizer).

    Args:
        path: a .csv or .tsv file, optionally .gz.
        smiles_column: the SMILES column; detected as in :func:`~molssl.data.corpus.read_smiles_file`
            when None.
        target_columns: the label columns (a name or a sequence of names), in the order of the tasks.
        task_type: ``'classification'``, ``'multiclass'``, ``'regression'`` or None to detect it.

    Returns:
        the table, with ``task_names`` equal to the target column names.

    Raises:
        ValueError: a column is missing (the message lists the file's columns), a label is not a number
            (the message names the row and column), or the task type cannot be detected (no labels at all).
    """
    source = str(path)
    if task_type is not None and task_type not in TASK_TYPES:
        raise ValueError(f"task_type must be one of {list(TASK_TYPES)} or None, got {task_type!r}")
    columns = read_table_header(path)
    smiles_column = find_smiles_column(columns, smiles_column, source)
    others = [column for column in columns if column != smiles_column]
    if target_columns is None:
        cells = read_table_columns(path, columns)
        targets = [column for column in others if not _is_text_column(cells[column])]
        if not targets:
            raise ValueError(f"{source}: no target columns (no column other than {smiles_column!r} holds numbers); "
                             f"the file has columns {columns}")  # fmt: skip
    else:
        targets = [target_columns] if isinstance(target_columns, str) else list(target_columns)
        if not targets:
            raise ValueError(f"{source}: no target columns; the file has columns {columns}")
        if len(set(targets)) != len(targets):
            raise ValueError(f"{source}: target_columns repeats a column: {targets}")
        absent = [column for column in targets if column not in columns]
        if absent:
            raise ValueError(f"{source}: no column(s) {absent}; the file has columns {columns}")
        if smiles_column in targets:
            raise ValueError(f"{source}: the SMILES column {smiles_column!r} cannot also be a target column")
        cells = read_table_columns(path, columns)

    smiles = cells[smiles_column]
    labels = np.empty((len(smiles), len(targets)), dtype=np.float32)
    for j, column in enumerate(targets):
        labels[:, j] = _parse_labels(cells[column], column, source)
    decision = detect_task_type(labels, targets, task_type, source)
    return LabeledTable(
        smiles=smiles,
        labels=labels,
        task_names=tuple(targets),
        task_type=decision.task_type,
        source=source,
        rows=np.arange(len(smiles), dtype=np.int64),
        extra={column: cells[column] for column in others if column not in targets},
        task_type_reason=decision.explanation,
        num_classes=decision.num_classes,
    )


def read_labeled_sdf(path: PathLike, target_columns: Sequence[str] | str | None = None, task_type: str | None = None) -> LabeledTable:
    """Read an SD file (``.sdf``, ``.sdf.gz``) into a :class:`LabeledTable`: data fields are the columns.

    Targets are ``target_columns`` (data field names), or when None every field whose filled values are
    all numbers; the title line (column ``name``) and the other fields are kept in ``extra``. A record
    RDKit cannot read keeps its place with an empty SMILES and its reason in ``read_errors`` (reported
    by ``featurize_table``); rows are record numbers (0-based). Missing labels and task type as
    :func:`read_labeled_csv`.
    """
    from molssl.data.sdf import NAME_COLUMN, read_sdf

    records = read_sdf(path)
    source = records.source
    fields = [c for c in records.columns if c != NAME_COLUMN]
    if target_columns is None:
        targets = [c for c in fields if not _is_text_column(records.columns[c])]
        if not targets:
            raise ValueError(f"{source}: no numeric data field to use as a target; the records have fields {fields}")
    else:
        targets = [target_columns] if isinstance(target_columns, str) else list(target_columns)
        absent = [c for c in targets if c not in fields]
        if absent or not targets or len(set(targets)) != len(targets):
            raise ValueError(f"{source}: target_columns {targets} must name distinct data fields; the records have fields {fields}")
    labels = np.empty((len(records.smiles), len(targets)), dtype=np.float32)
    for j, column in enumerate(targets):
        labels[:, j] = _parse_labels(records.columns[column], column, source)
    decision = detect_task_type(labels, targets, task_type, source)
    return LabeledTable(
        smiles=records.smiles, labels=labels, task_names=tuple(targets), task_type=decision.task_type, source=source,
        rows=np.arange(len(records.smiles), dtype=np.int64), extra={c: v for c, v in records.columns.items() if c not in targets},
        task_type_reason=decision.explanation, num_classes=decision.num_classes, read_errors=records.read_errors,
    )  # fmt: skip


def featurize_table(
    table: LabeledTable,
    scheme: str = "hu",
    *,
    sanitize: str = "strict",
    max_atoms: int | None = DEFAULT_MAX_ATOMS,
    max_smiles_length: int | None = DEFAULT_MAX_SMILES_LENGTH,
    on_error: str = "skip",
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    atom_order: str = "input",
) -> FeaturizeResult:
    """Featurize the molecules of a table; every skip and lenient record names the row of the table's file.

    This is ``molssl.featurize_many(table.smiles, rows=table.rows, source=table.source, ...)``, with the
    reason of ``table.read_errors`` for records the reader could not read; use
    ``result.indices`` to take the labels of the molecules kept (``table.labels[result.indices]``).

    Args:
        table: the molecules.
        scheme: a registered featurization scheme (``"hu"`` or ``"ogb"``).
        sanitize: ``"strict"`` or ``"lenient"``, which also keeps molecules that fail only RDKit's
            valence check (hypervalent atoms the older literature kept) and lists them in
            ``result.lenient``; see ``molssl.featurize_many``.
        max_atoms: most atoms per molecule (as written, explicit hydrogens included); None for no limit.
        max_smiles_length: most characters per SMILES; None for no limit.
        on_error: ``"skip"`` records bad rows in ``result.skipped``; ``"raise"`` stops at the first.
        workers: processes for featurization.
        progress: called with the number of molecules done after each chunk.
        atom_order: ``"input"`` or ``"canonical"`` (every spelling of a molecule gives one graph); see
            ``molssl.featurize_many``.
    """
    import dataclasses

    from molssl.chem.featurize import featurize_many

    if table.read_errors and on_error == "raise":
        index, reason = min(table.read_errors.items())
        raise ValueError(f"{table.source}: {reason}")
    result = featurize_many(
        table.smiles,
        scheme=scheme,
        on_error=on_error,  # type: ignore[arg-type]
        workers=workers,
        rows=table.rows,
        source=table.source,
        progress=progress,
        sanitize=sanitize,  # type: ignore[arg-type]
        max_atoms=max_atoms,
        max_smiles_length=max_smiles_length,
        atom_order=atom_order,  # type: ignore[arg-type]
    )
    if table.read_errors:  # the record was unreadable: say why, not "empty SMILES"
        result.skipped = [dataclasses.replace(s, reason=table.read_errors[s.index]) if s.index in table.read_errors else s
                          for s in result.skipped]  # fmt: skip
    return result
