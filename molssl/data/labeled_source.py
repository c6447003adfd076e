"""Labeled data as the user names it (a table, a CSV/TSV or SD file, or a MoleculeNet name) read into a ``LabeledTable``.

It sits above both the file readers (``molssl.data.labeled``) and the MoleculeNet catalog
(``molssl.data.catalog``, which reads its files with those readers), so neither imports the other's caller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from molssl.data.catalog import MOLECULENET, load_moleculenet
from molssl.data.labeled import LabeledTable, read_labeled_csv, read_labeled_sdf


def load_labeled_table(data: Any, smiles_column: str | None, target_columns: Sequence[str] | None, task_type: str | None) -> LabeledTable:
    """A ``LabeledTable`` from a table, a CSV/TSV path, an SD file, or a MoleculeNet dataset name."""
    if isinstance(data, LabeledTable):
        return data
    path = Path(data)
    if path.is_file():
        from molssl.data.sdf import is_sdf

        if is_sdf(path):
            if smiles_column is not None:
                raise ValueError(f"{path}: smiles_column applies to CSV/TSV files; an SD file holds structures")
            return read_labeled_sdf(path, target_columns=target_columns, task_type=task_type)
        return read_labeled_csv(path, smiles_column=smiles_column, target_columns=target_columns, task_type=task_type)
    if str(data).lower() in MOLECULENET or any(str(data).lower() in (i.aliases or ()) for i in MOLECULENET.values()):
        return _choose(load_moleculenet(str(data)), str(data), smiles_column, target_columns, task_type)
    raise FileNotFoundError(f"{data!r} is neither a file nor a MoleculeNet dataset name ({', '.join(MOLECULENET)})")


def _choose(table: LabeledTable, name: str, smiles_column: str | None, target_columns: Sequence[str] | None,
            task_type: str | None) -> LabeledTable:  # fmt: skip
    """A MoleculeNet set with the options a file takes: its tasks ``target_columns``, its type checked against ``task_type``."""
    import dataclasses

    from molssl.data.task_type import detect_task_type

    if smiles_column is not None:
        raise ValueError(f"{name}: a MoleculeNet set brings its own SMILES column; smiles_column applies to files")
    if target_columns is not None:
        missing = [t for t in target_columns if t not in table.task_names]
        if missing:
            raise ValueError(f"{name}: no task {missing[0]!r}; its tasks: {', '.join(table.task_names)}")
        picked = [table.task_names.index(t) for t in target_columns]
        table = dataclasses.replace(table, labels=table.labels[:, picked], task_names=tuple(target_columns))
    if task_type is not None:
        decision = detect_task_type(table.labels, table.task_names, task_type, source=name)
        table = dataclasses.replace(table, task_type=decision.task_type, task_type_reason=decision.explanation,
                                    num_classes=decision.num_classes)  # fmt: skip
    return table


__all__ = ["load_labeled_table"]
