"""Unlabeled SMILES corpora: reading .smi/.txt, CSV and TSV files, plain or gzip-compressed.

The readers here do not parse molecules. Every data row of the file becomes one entry of the corpus, in file
order, so that the featurizer can report a bad row by its number instead of the row silently disappearing.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from molssl.data.file_errors import reads_file

#: Column names recognised as the SMILES column of a CSV/TSV file, in order of preference (case-insensitive).
SMILES_COLUMN_CANDIDATES: tuple[str, ...] = ("smiles", "canonical_smiles", "mol")

#: File-name suffix (after removing any ``.gz``) -> table format.
TABLE_FORMATS: dict[str, str] = {
    ".smi": "smi",
    ".smiles": "smi",
    ".txt": "smi",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
}

_DELIMITERS = {"csv": ",", "tsv": "\t"}
_GZIP_MAGIC = b"\x1f\x8b"
# UTF-8, dropping a byte-order mark at the start of the file (editors on Windows write one), which would
# otherwise glue itself to the first header name or SMILES.
_ENCODING = "utf-8-sig"

PathLike = str | os.PathLike


@dataclass(frozen=True, eq=False)
class SmilesCorpus:
    """SMILES strings read from one file, each with the data row it came from.

    Attributes:
        smiles: one string per data row, in file order. Empty rows are kept as empty strings.
        rows: int64 array, ``rows[i]`` is the 0-based data row (header excluded) of ``smiles[i]`` in
            ``source``. It equals ``arange(len(smiles))`` for a freshly read file and keeps the original
            numbering when a corpus is subset with :meth:`take`.
        source: the file the corpus was read from.
    """

    smiles: list[str]
    rows: np.ndarray
    source: str

    def __post_init__(self) -> None:
        rows = np.asarray(self.rows)
        if rows.ndim != 1:
            raise ValueError(f"rows must be 1-D, got shape {rows.shape}")
        if rows.size and not np.issubdtype(rows.dtype, np.integer):
            raise ValueError(f"rows must hold integers, got dtype {rows.dtype}")
        if len(rows) != len(self.smiles):
            raise ValueError(f"{len(self.smiles)} SMILES but {len(rows)} row numbers")
        rows = rows.astype(np.int64, copy=True)
        rows.flags.writeable = False
        object.__setattr__(self, "smiles", list(self.smiles))
        object.__setattr__(self, "rows", rows)

    def __len__(self) -> int:
        return len(self.smiles)

    def take(self, indices: Sequence[int] | np.ndarray) -> SmilesCorpus:
        """Return the corpus restricted to ``indices`` (positions in this corpus), keeping source row numbers."""
        indices = np.asarray(indices, dtype=np.int64)
        return SmilesCorpus([self.smiles[i] for i in indices], self.rows[indices], self.source)


def is_gzipped(path: PathLike) -> bool:
    """Whether the file starts with the gzip magic bytes (regardless of its name)."""
    with open(path, "rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def table_format(path: PathLike) -> str:
    """Return ``'smi'``, ``'csv'`` or ``'tsv'`` from the file name, ignoring a trailing ``.gz``.

    Raises:
        ValueError: the suffix is not one of :data:`TABLE_FORMATS`.
    """
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[: -len(".gz")]
    suffix = Path(name).suffix
    if suffix not in TABLE_FORMATS:
        valid = ", ".join(sorted(TABLE_FORMATS))
        raise ValueError(
            f"{path}: cannot tell the file format from the suffix {suffix!r}; "
            f"supported suffixes (each optionally followed by .gz): {valid}"
        )
    return TABLE_FORMATS[suffix]


def find_smiles_column(columns: Sequence[str], requested: str | None, source: str) -> str:
    """Pick the SMILES column: ``requested`` if given, else the first of :data:`SMILES_COLUMN_CANDIDATES`.

    Detection is case-insensitive and ignores surrounding spaces; a requested name must match exactly.

    Raises:
        ValueError: the column is missing; the message lists the file's columns.
    """
    columns = list(columns)
    if requested is not None:
        if requested not in columns:
            raise ValueError(f"{source}: no column {requested!r}; the file has columns {columns}")
        return requested
    normalized = {}
    for column in columns:
        normalized.setdefault(str(column).strip().lower(), column)
    for candidate in SMILES_COLUMN_CANDIDATES:
        if candidate in normalized:
            return normalized[candidate]
    raise ValueError(
        f"{source}: found no SMILES column among {columns}; looked for {list(SMILES_COLUMN_CANDIDATES)} "
        f"(case-insensitive). Name it with --smiles-column (Python: smiles_column=)."
    )


@reads_file
def read_table_header(path: PathLike) -> list[str]:
    """Return the column names of a CSV/TSV file (plain or gzip-compressed)."""
    import pandas as pd

    fmt = table_format(path)
    if fmt == "smi":
        raise ValueError(f"{path}: a .smi/.txt file has no columns; use a .csv or .tsv file")
    compression = "gzip" if is_gzipped(path) else None
    frame = pd.read_csv(path, sep=_DELIMITERS[fmt], nrows=0, compression=compression, encoding=_ENCODING)
    return [str(column) for column in frame.columns]


@reads_file
def read_table_columns(path: PathLike, columns: Sequence[str]) -> dict[str, list[str]]:
    """Read the given columns of a CSV/TSV file as strings, verbatim (no NA conversion, blank rows kept)."""
    import pandas as pd

    fmt = table_format(path)
    compression = "gzip" if is_gzipped(path) else None
    # na_filter=False keeps every cell as the text it holds (an empty cell is ''), which is both faster and
    # what we want: deciding what counts as missing is the caller's job.
    frame = pd.read_csv(
        path,
        sep=_DELIMITERS[fmt],
        usecols=list(columns),
        dtype=object,
        na_filter=False,
        keep_default_na=False,
        skip_blank_lines=False,
        compression=compression,
        encoding=_ENCODING,
    )
    return {column: ["" if value is None else str(value) for value in frame[column].tolist()] for column in columns}


def _read_smi_lines(path: PathLike) -> list[str]:
    opener = gzip.open if is_gzipped(path) else open
    with opener(path, "rt", encoding=_ENCODING, newline=None) as handle:
        text = handle.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":  # the newline that ends the last line does not start another row
        lines.pop()
    return lines


def _first_field(line: str) -> str:
    fields = line.split(None, 1)
    return fields[0] if fields else ""


@reads_file
def read_smiles_file(path: PathLike, smiles_column: str | None = None) -> SmilesCorpus:
    """Read an unlabeled SMILES corpus from a .smi/.txt, CSV or TSV file, optionally gzip-compressed.

    Formats, chosen by the file name with any ``.gz`` removed (compression itself is detected from the
    gzip magic bytes, so a compressed file without ``.gz`` in its name is read too):

    * ``.smi``, ``.smiles``, ``.txt``: one molecule per line, the SMILES optionally followed by whitespace
      and a name (the usual ``SMILES name`` convention): the first whitespace-separated field of the line is
      the SMILES and the rest, the name, is split off here and ignored. The featurizer itself rejects a
      SMILES with whitespace inside it (see ``molssl.chem.smiles_text``), so only this reader splits names.
      A first line whose first field is ``SMILES`` (any case) is a header and is skipped.
    * ``.csv``, ``.tsv``, ``.tab``: a header line, then rows. The SMILES column is ``smiles_column`` if given,
      else the first of ``smiles``, ``canonical_smiles``, ``mol`` present (case-insensitive).

    Text is UTF-8; a byte-order mark at the start of the file is dropped (it would otherwise make the header
    a data row). A CSV cell is kept verbatim, even one holding a quoted line break: the featurizer reports
    it rather than reading the part before the break.

    Nothing is dropped: an empty line of a .smi file, a blank line or an empty SMILES cell of a CSV becomes
    an empty SMILES string at its row, so the featurizer reports it as a bad row rather than the row
    numbers silently shifting. Row numbers are 0-based and count data rows only (the header is not a row).

    Args:
        path: the file to read.
        smiles_column: name of the SMILES column of a CSV/TSV file. Not allowed for .smi files.

    Returns:
        the corpus, with ``rows == arange(len(corpus))`` and ``source == str(path)``.

    Raises:
        ValueError: unknown suffix, no SMILES column found (the message lists the columns), or
            ``smiles_column`` given for a .smi file.
        DataFileError: (a ``ValueError``) the file cannot be read: truncated gzip, a directory, no
            permission, not UTF-8 text, an empty CSV (the message names the file and line).
    """
    source = str(path)
    fmt = table_format(path)
    if fmt == "smi":
        if smiles_column is not None:
            raise ValueError(
                f"{source}: smiles_column={smiles_column!r} applies to CSV/TSV files only; "
                f"a .smi/.txt file holds the SMILES in its first field"
            )
        lines = _read_smi_lines(path)
        if lines and _first_field(lines[0]).lower() == "smiles":
            lines = lines[1:]
        smiles = [_first_field(line) for line in lines]
    else:
        column = find_smiles_column(read_table_header(path), smiles_column, source)
        smiles = read_table_columns(path, [column])[column]
    return SmilesCorpus(smiles, np.arange(len(smiles), dtype=np.int64), source)
