"""Molecules to predict, read from a file with the columns that identify them (IDs, names, notes).

``read_molecule_table`` reads SMILES/CSV/TSV files (optionally ``.gz``) and SD files, and keeps every
column other than the SMILES (for SD files: the title line as ``name`` and every data field), so
predictions can be written next to the identifiers they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from molssl.data.corpus import PathLike, find_smiles_column, read_smiles_file, read_table_columns, read_table_header, table_format


@dataclass
class MoleculeTable:
    """Molecules read from one file.

    Attributes:
        smiles: one per data row or SD record, in file order.
        extra: the file's other columns, one string per molecule.
        source: the file.
        read_errors: molecule index -> why its record could not be read (its SMILES is empty).
    """

    smiles: list[str]
    extra: dict[str, list[str]]
    source: str
    read_errors: dict[int, str] = field(default_factory=dict)

    @property
    def rows(self) -> np.ndarray:
        """0-based data rows (SD: record numbers). Shape [N]."""
        return np.arange(len(self.smiles), dtype=np.int64)


def read_molecule_table(path: PathLike, smiles_column: str | None = None) -> MoleculeTable:
    """Read molecules and their identifying columns from ``path`` (``.smi``/``.txt``, CSV/TSV, SD; ``.gz`` too).

    A ``.smi`` line's name field is not kept (the reader splits it off); use a CSV to carry IDs.

    Raises:
        ValueError: as ``molssl.data.corpus.read_smiles_file`` and ``molssl.data.sdf.read_sdf``.
    """
    from molssl.data.sdf import is_sdf, read_sdf

    source = str(path)
    if is_sdf(path):
        if smiles_column is not None:
            raise ValueError(f"{source}: smiles_column applies to CSV/TSV files; an SD file holds structures")
        records = read_sdf(path)
        return MoleculeTable(records.smiles, records.columns, source, records.read_errors)
    if table_format(path) == "smi":
        return MoleculeTable(read_smiles_file(path).smiles, {}, source)
    columns = read_table_header(path)
    column = find_smiles_column(columns, smiles_column, source)
    cells = read_table_columns(path, columns)
    return MoleculeTable(cells[column], {c: cells[c] for c in columns if c != column}, source)


__all__ = ["MoleculeTable", "read_molecule_table"]
