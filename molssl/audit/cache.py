"""A corpus's audit keys saved beside nothing but its digest, so auditing the same file again skips RDKit.

The file is named by the corpus's sha256, its SMILES column, the key format and the RDKit version (canonical
SMILES may change between RDKit releases), and holds plain arrays (``numpy.savez``, no pickles): numbers as
they are, text columns as one UTF-8 string joined by an ASCII record separator.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import fields
from pathlib import Path

import numpy as np

from molssl.audit.keys import TEXT_COLUMNS, MoleculeKeys

#: bumped when the columns or their meaning change
KEYS_FORMAT = 2
_SEPARATOR = "\x1e"


def keys_path(cache_dir: str | os.PathLike, sha256: str, smiles_column: str | None, all_inchikeys: bool = False) -> Path:
    """Where the keys of the file with this digest (and SMILES column) are kept; ``all_inchikeys``: the
    keys of a downstream set (every InChIKey computed), kept apart from a corpus's lazily filled ones."""
    from rdkit import rdBase

    column = "" if smiles_column is None else "-" + "".join(c if c.isalnum() else "_" for c in smiles_column)
    kind = "-all" if all_inchikeys else ""
    return Path(cache_dir) / f"keys-{sha256[:32]}{column}{kind}-f{KEYS_FORMAT}-rdkit{rdBase.rdkitVersion}.npz"


def save_keys(keys: MoleculeKeys, path: str | os.PathLike) -> Path | None:
    """Write ``keys`` to ``path`` (atomically); None, writing nothing, if a text value holds the separator."""
    arrays = {}
    for f in fields(MoleculeKeys):
        values = getattr(keys, f.name)
        if f.name in TEXT_COLUMNS:
            joined = _SEPARATOR.join(values.tolist())
            if joined.count(_SEPARATOR) != max(len(values) - 1, 0):
                return None
            values = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
        arrays[f.name] = values
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npz")
    np.savez(tmp, rows=np.int64(len(keys)), **arrays)
    os.replace(tmp, path)
    return path


def load_keys(path: str | os.PathLike) -> MoleculeKeys | None:
    """The keys saved at ``path``; None if there are none or the file is damaged (it is then computed again)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            rows = int(data["rows"])
            columns = {}
            for f in fields(MoleculeKeys):
                values = data[f.name]
                if f.name in TEXT_COLUMNS:
                    text = values.tobytes().decode("utf-8")
                    values = np.array(text.split(_SEPARATOR) if rows else [], dtype=object)
                if len(values) != rows:
                    return None
                columns[f.name] = values
    except (OSError, KeyError, ValueError, UnicodeDecodeError, zipfile.BadZipFile):
        return None
    return MoleculeKeys(**columns)
