"""SD files (``.sdf``, ``.sdf.gz``): each record's molecule as SMILES, its title and its data fields as columns.

Records are split on ``$$$$`` lines and read one by one, so a record RDKit rejects is reported with its
record number, first line and reason instead of shifting the others. A record that parses only without
sanitization (e.g. a valence RDKit refuses) is written as unsanitized SMILES, so the featurizer gives
its usual reason (and ``sanitize="lenient"`` can keep it); a record RDKit cannot read at all gets an
empty SMILES and its reason in ``read_errors``.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

from molssl.data.corpus import PathLike, is_gzipped
from molssl.data.file_errors import reads_file

#: the column holding each record's title line (its first line, usually a name or ID)
NAME_COLUMN = "name"
_FIELD = re.compile(r"^>.*?<([^>]+)>")


def is_sdf(path: PathLike) -> bool:
    """Whether ``path`` names an SD file (``.sdf`` / ``.sd``, optionally ``.gz``)."""
    name = Path(path).name.lower()
    return name.removesuffix(".gz").endswith((".sdf", ".sd"))


@dataclass
class SdfRecords:
    """The records of an SD file.

    Attributes:
        smiles: one SMILES per record (empty where RDKit could not read the record).
        columns: ``name`` (the title line) and every data field seen in any record, one string per record
            ("" where a record lacks the field).
        read_errors: record index -> why RDKit could not read it.
        source: the file.
    """

    smiles: list[str]
    columns: dict[str, list[str]]
    source: str
    read_errors: dict[int, str] = field(default_factory=dict)


def _read_text(path: PathLike) -> str:
    opener = gzip.open if is_gzipped(path) else open
    with opener(path, "rt", encoding="utf-8-sig", newline=None) as handle:
        return handle.read()


def _data_fields(lines: list[str]) -> dict[str, str]:
    """``> <NAME>`` headers and their value lines (joined by newlines, blank line ends a value)."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(lines):
        match = _FIELD.match(lines[i])
        i += 1
        if not match:
            continue
        values = []
        while i < len(lines) and lines[i].strip() != "":
            values.append(lines[i].rstrip())
            i += 1
        fields[match.group(1).strip()] = "\n".join(values)
    return fields


def _record_smiles(block: str) -> tuple[str, str | None]:
    """SMILES of one molblock and, when RDKit cannot read it at all, the reason."""
    from rdkit import Chem, rdBase

    with rdBase.BlockLogs():
        mol = Chem.MolFromMolBlock(block)
        if mol is not None:
            return Chem.MolToSmiles(mol), None
        raw = Chem.MolFromMolBlock(block, sanitize=False)
        if raw is not None:
            try:
                raw.UpdatePropertyCache(strict=False)
                return Chem.MolToSmiles(raw), None
            except Exception as exc:  # RDKit raises many types on malformed structures
                return "", f"RDKit cannot write the structure as SMILES ({type(exc).__name__}: {exc})"
    return "", "RDKit cannot read the molblock (malformed counts, atom or bond lines)"


@reads_file
def read_sdf(path: PathLike) -> SdfRecords:
    """Read every record of an SD file (optionally gzip-compressed).

    Raises:
        ValueError: the file holds no record (no ``M  END`` line); ``DataFileError`` for unreadable files.
    """
    source = str(path)
    blocks: list[tuple[int, list[str]]] = []  # (1-based first line, lines)
    current: list[str] = []
    first = 1
    for number, text_line in enumerate(_read_text(path).split("\n"), start=1):
        if text_line.strip() == "$$$$":
            blocks.append((first, current))
            current, first = [], number + 1
        else:
            current.append(text_line)
    if any(text_line.strip() for text_line in current):
        blocks.append((first, current))
    smiles: list[str] = []
    fields: list[dict[str, str]] = []
    errors: dict[int, str] = {}
    for index, (line, lines) in enumerate(blocks):
        end = next((k for k, text_line in enumerate(lines) if text_line.startswith("M  END")), None)
        if end is None:
            smiles.append("")
            errors[index] = f"record {index} (line {line}) has no 'M  END' line"
            fields.append({})
            continue
        molecule, error = _record_smiles("\n".join(lines[: end + 1]))
        smiles.append(molecule)
        if error is not None:
            errors[index] = f"record {index} (line {line}): {error}"
        fields.append({NAME_COLUMN: lines[0].strip(), **_data_fields(lines[end + 1 :])})
    if not any(smiles):
        raise ValueError(f"{source}: no readable SD record ({len(blocks)} record(s); a record is a molblock ending in "
                         "'M  END', then data fields, then '$$$$')")  # fmt: skip
    order: dict[str, None] = {NAME_COLUMN: None}
    for record in fields:
        order.update(dict.fromkeys(record))
    columns = {name: [record.get(name, "") for record in fields] for name in order}
    return SdfRecords(smiles=smiles, columns=columns, source=source, read_errors=errors)


__all__ = ["NAME_COLUMN", "SdfRecords", "is_sdf", "read_sdf"]
