"""Downstream sets an audit compares a corpus with: their molecules' keys per split part.

A set is a MoleculeNet name (the embedded or local copy, ``molssl.data.catalog.load_moleculenet``) or a
CSV/SMILES file. Its parsable molecules are split the way the fine-tuning benchmarks split them (the
deterministic scaffold split 80/10/10 unless another registered splitter is named), so the audit can say how
many *test* molecules a pretraining corpus holds, not only how many molecules of the set.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Sequence

import numpy as np

from molssl.audit.cache import keys_path, load_keys, save_keys
from molssl.audit.keys import MoleculeKeys, molecule_keys
from molssl.files import file_sha256

PARTS: tuple[str, ...] = ("train", "valid", "test")


@dataclass(frozen=True, eq=False)
class DownstreamSet:
    """One downstream set: its molecules' keys and which split part each parsable molecule is in.

    Attributes:
        name: the name given (a dataset name or the file's path).
        source: the file read, and ``sha256`` its digest.
        keys: keys of every row of the file (invalid rows carry their reason).
        part: per row, ``"train"``, ``"valid"``, ``"test"`` or ``""`` (not parsable, in no part).
        split: the splitter that assigned the parts.
    """

    name: str
    source: str
    sha256: str
    keys: MoleculeKeys
    part: np.ndarray
    split: str

    def rows_in(self, part: str) -> np.ndarray:
        """Row indices of one part. Shapes: (n_part,)."""
        return np.flatnonzero(self.part == part)


def load_downstream(name_or_path: str, split: str = "scaffold", cache_dir: str | os.PathLike | None = None) -> DownstreamSet:
    """Read a downstream set, compute its keys (or read them from ``cache_dir``, by the file's digest) and split
    its parsable molecules.

    Raises:
        ValueError: an unknown dataset name (listing the valid ones) that is also not an existing file.
    """
    from molssl.data.splits_registry import get_splitter

    path = Path(name_or_path)
    if path.is_file():
        from molssl.data.corpus import read_smiles_file

        smiles, source = read_smiles_file(path).smiles, str(path)
    else:
        from molssl.data.catalog import load_moleculenet

        try:
            table = load_moleculenet(name_or_path)
        except ValueError as error:
            raise ValueError(f"--against {name_or_path!r} is neither a file nor a dataset name: {error}") from None
        smiles, source = table.smiles, table.source
    sha256 = file_sha256(source)
    cached = keys_path(cache_dir, sha256, None, all_inchikeys=True) if cache_dir is not None else None
    keys = load_keys(cached) if cached is not None and cached.exists() else None
    if keys is None or len(keys) != len(smiles):
        keys = molecule_keys(smiles)
        if cached is not None:
            save_keys(keys, cached)
    valid = np.flatnonzero(keys.valid)
    parts = get_splitter(split)([smiles[i] for i in valid.tolist()])
    part = np.full(len(smiles), "", dtype=object)
    for part_name, rows in zip(PARTS, parts):
        part[valid[rows]] = part_name
    return DownstreamSet(str(name_or_path), source, sha256, keys, part, split)


def load_downstream_sets(
    against: Sequence[str | DownstreamSet], split: str = "scaffold", cache_dir: str | os.PathLike | None = None, workers: int = 1
) -> list[DownstreamSet]:
    """Every set of ``against``, in order: those given as names or files loaded by ``load_downstream``, in
    ``workers`` processes (one set per task: their RDKit work, keys and split, is the audit's one serial stage
    otherwise), those already loaded kept as they are."""
    names = [item for item in against if not isinstance(item, DownstreamSet)]
    load = partial(load_downstream, split=split, cache_dir=cache_dir)
    workers = min(workers, len(names))
    if workers > 1:
        with multiprocessing.get_context().Pool(workers) as pool:
            loaded = iter(pool.map(load, names, chunksize=1))
    else:
        loaded = map(load, names)
    return [item if isinstance(item, DownstreamSet) else next(loaded) for item in against]
