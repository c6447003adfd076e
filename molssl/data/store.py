"""The molecule store: a featurized corpus on disk as flat arrays with offsets, memory-mapped on load.

A store is one directory::

    meta.json         format version, scheme (name, version, vocabularies), source file and its sha256,
                      counts, molssl version, and the size, dtype and sha256 of every other file;
                      written last, so its presence marks a complete store
    x.npy             [A, F_atom]  atom features (scheme dtype, uint8 for the built-in schemes)
    edge_index.npy    [2, E]       local edge endpoints (int32)
    edge_attr.npy     [E, F_bond]  bond features
    atom_ptr.npy      [M + 1]      offsets of each molecule's atoms (int64)
    edge_ptr.npy      [M + 1]      offsets of each molecule's edges (int64)
    rows.npy          [M]          0-based data row of each molecule in the source file (int64)
    smiles.bin        UTF-8 SMILES of the stored molecules, concatenated
    smiles_ptr.npy    [M + 1]      byte offsets into smiles.bin
    skipped.jsonl     every source row that was not stored: {"index", "smiles", "reason"}

This module is the file format: ``write_store`` writes a directory atomically (a temporary sibling named
after its process, ``.<store>.tmp-<pid>@<host>-*``, renamed into place, so a killed write never leaves a
directory that loads as a store) and ``MoleculeStore`` opens one. Featurizing a SMILES file into a store,
cached by content, is ``molssl.data.store_build``.

Integrity. Opening a store checks, without reading the data, everything that costs next to nothing:
``meta.json`` is well formed, every file exists with the size it was written with, arrays have the
recorded dtype and the shapes the counts imply, and the offsets start at 0, never decrease and end at
the totals. ``MoleculeStore.verify()`` (``molssl store verify DIR``, and ``build_store`` before it
reuses a store) also compares the sha256 of every file with the one recorded at build time, which
finds a flipped byte anywhere. Every problem raises ``StoreCorruptError`` naming the store, the file
and the reason (``build_store`` then rebuilds the store from its source).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from molssl.chem.errors import SkippedRow
from molssl.chem.schemes.spec import FeaturizationSpec
from molssl.files import file_sha256, staged_directory, write_json_atomic
from molssl.graph.arrays import GraphArrays

STORE_FORMAT = 2
_ARRAYS = ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr", "rows", "smiles_ptr")
#: every file of a store but meta.json, which records their sizes and checksums
DATA_FILES = (*(f"{name}.npy" for name in _ARRAYS), "smiles.bin", "skipped.jsonl")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class StoreError(RuntimeError):
    """A store directory is missing, incomplete or corrupt."""


class StoreCorruptError(StoreError):
    """A store directory is damaged, incomplete or in another format: it must be rebuilt.

    Attributes:
        store: the store directory.
        file: the file at fault, relative to ``store`` (``"."`` for the directory itself).
        reason: what is wrong with it.
    """

    def __init__(self, store: Path, file: str, reason: str):
        self.store, self.file, self.reason = Path(store), file, reason
        super().__init__(f"{self.problem}; the store is damaged: rebuild it (build_store(..., rebuild=True), or delete the folder)")

    @property
    def problem(self) -> str:
        """``"molecule store DIR: FILE: REASON"``."""
        where = "" if self.file == "." else f" {self.file}:"
        return f"molecule store {self.store}:{where} {self.reason}"


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _read_meta(path: Path) -> dict[str, Any]:
    """``meta.json`` of the store at ``path``, checked for every field the store relies on."""

    def bad(reason: str) -> StoreCorruptError:
        return StoreCorruptError(path, "meta.json", reason)

    file = path / "meta.json"
    if not file.is_file():
        raise bad("missing (no meta.json): not a complete molecule store (an interrupted build, or a deleted file)")
    try:
        meta = json.loads(file.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(f"unreadable ({exc})") from exc
    if not isinstance(meta, dict):
        raise bad(f"holds a JSON {type(meta).__name__}, not an object")
    if meta.get("format") != STORE_FORMAT:
        raise bad(f"store format {meta.get('format')!r}, this molssl reads format {STORE_FORMAT}")
    counts, files = meta.get("counts"), meta.get("files")
    try:
        FeaturizationSpec.from_dict(meta.get("scheme"))
    except ValueError as exc:
        raise bad(f"no valid 'scheme' ({exc})") from exc
    if not (isinstance(counts, dict) and all(_is_count(counts.get(k)) for k in ("molecules", "atoms", "edges", "skipped"))):
        raise bad(f"'counts' must hold non-negative integers molecules, atoms, edges, skipped; found {counts!r}")
    if not isinstance(files, dict) or set(files) != set(DATA_FILES):
        raise bad(f"'files' must describe exactly {', '.join(DATA_FILES)}")
    for name, entry in files.items():
        if not (isinstance(entry, dict) and _is_count(entry.get("bytes")) and isinstance(entry.get("sha256"), str)
                and _SHA256.fullmatch(entry["sha256"]) and (not name.endswith(".npy") or isinstance(entry.get("dtype"), str))):  # fmt: skip
            raise bad(f"'files' entry of {name} must hold bytes, sha256 (and dtype and shape for arrays); found {entry!r}")
    for name, shape in _shapes(meta).items():
        if files[f"{name}.npy"].get("shape") != list(shape):
            raise bad(f"the counts make {name}.npy {list(shape)}, but it was written as {files[f'{name}.npy'].get('shape')}")
    return meta


def _shapes(meta: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The shape of every array, from the counts and the scheme's feature widths."""
    counts, spec = meta["counts"], FeaturizationSpec.from_dict(meta["scheme"])
    m = counts["molecules"]
    return {
        "x": (counts["atoms"], len(spec.atom_features)),
        "edge_index": (2, counts["edges"]),
        "edge_attr": (counts["edges"], len(spec.bond_features)),
        "atom_ptr": (m + 1,), "edge_ptr": (m + 1,), "rows": (m,), "smiles_ptr": (m + 1,),
    }  # fmt: skip


def _check_offsets(store: Path, name: str, ptr: np.ndarray, total: int, what: str) -> None:
    """Offsets must start at 0, never decrease, and end at ``total``."""
    if int(ptr[0]) != 0 or int(ptr[-1]) != total:
        raise StoreCorruptError(store, f"{name}.npy", f"offsets run from {int(ptr[0])} to {int(ptr[-1])}, expected 0 to {total} {what}")
    drops = np.flatnonzero(ptr[1:] < ptr[:-1])
    if drops.size:
        raise StoreCorruptError(store, f"{name}.npy", f"offsets decrease at molecule {int(drops[0])} ({int(ptr[drops[0]])} -> {int(ptr[drops[0] + 1])})")


class MoleculeStore:
    """A featurized corpus, memory-mapped from its directory.

    Opening checks what is cheap (see the module docstring); ``verify=True`` also checks every file's
    sha256, which reads the whole store.

    Attributes:
        path: the store directory.
        meta: the contents of ``meta.json``.
        graphs: the molecules as ``GraphArrays`` over memory-mapped arrays.
        rows: source-file row of each stored molecule, shape [M].

    Raises:
        StoreError: no store at ``path``.
        StoreCorruptError: the store is damaged (names the file and the reason).
    """

    def __init__(self, path: str | os.PathLike, verify: bool = False):
        self.path = Path(path)
        if not self.path.exists():
            raise StoreError(f"{self.path}: no molecule store there (no such directory)")
        if not self.path.is_dir():
            raise StoreCorruptError(self.path, ".", "not a directory")
        self.meta = _read_meta(self.path)
        files = self.meta["files"]
        for name in DATA_FILES:
            file = self.path / name
            if not file.is_file():
                raise StoreCorruptError(self.path, name, "missing" if not file.exists() else "not a regular file")
            size = file.stat().st_size
            if size != files[name]["bytes"]:
                raise StoreCorruptError(self.path, name, f"{size} bytes, but it was written with {files[name]['bytes']} (truncated or changed)")
        counts = self.meta["counts"]
        arrays = {}
        for name, shape in _shapes(self.meta).items():
            file = f"{name}.npy"
            try:
                arrays[name] = np.load(self.path / file, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, EOFError) as exc:
                raise StoreCorruptError(self.path, file, f"cannot be read as an array ({exc})") from exc
            if arrays[name].dtype.str != files[file]["dtype"]:
                raise StoreCorruptError(self.path, file, f"dtype {arrays[name].dtype.str}, written as {files[file]['dtype']}")
            if arrays[name].shape != shape:
                raise StoreCorruptError(self.path, file, f"shape {arrays[name].shape}, written as {shape}")
        atom_ptr, edge_ptr = np.asarray(arrays["atom_ptr"]), np.asarray(arrays["edge_ptr"])
        self._smiles_ptr = np.asarray(arrays["smiles_ptr"])
        _check_offsets(self.path, "atom_ptr", atom_ptr, counts["atoms"], "atoms")
        _check_offsets(self.path, "edge_ptr", edge_ptr, counts["edges"], "edges")
        _check_offsets(self.path, "smiles_ptr", self._smiles_ptr, files["smiles.bin"]["bytes"], "bytes of smiles.bin")
        self.graphs = GraphArrays(x=arrays["x"], edge_index=arrays["edge_index"], edge_attr=arrays["edge_attr"], atom_ptr=atom_ptr, edge_ptr=edge_ptr)
        self.rows = arrays["rows"]
        smiles_file = self.path / "smiles.bin"
        self._smiles = np.memmap(smiles_file, dtype=np.uint8, mode="r") if self._smiles_ptr[-1] > 0 else np.zeros(0, np.uint8)
        if verify:
            self.verify()

    def __len__(self) -> int:
        return len(self.graphs)

    def __repr__(self) -> str:
        c = self.meta["counts"]
        return (f"MoleculeStore({str(self.path)!r}, scheme={self.spec.name!r}, molecules={c['molecules']}, "
                f"atoms={c['atoms']}, edges={c['edges']}, skipped={c['skipped']})")  # fmt: skip

    @property
    def spec(self) -> FeaturizationSpec:
        """The featurization spec of the stored graphs (``meta.json``'s ``"scheme"``)."""
        return FeaturizationSpec.from_dict(self.meta["scheme"])

    def verify(self) -> dict[str, Any]:
        """Compare the sha256 of every file with the one recorded when the store was written.

        Reads the whole store once (about 1 GB/s); finds any changed byte.

        Returns:
            ``{"files": number of files checked, "bytes": their total size, "seconds": time taken}``.

        Raises:
            StoreCorruptError: naming the first file whose content changed.
        """
        start = time.perf_counter()
        for name in DATA_FILES:
            recorded = self.meta["files"][name]["sha256"]
            try:
                digest = file_sha256(self.path / name)
            except OSError as exc:
                raise StoreCorruptError(self.path, name, f"unreadable ({exc})") from exc
            if digest != recorded:
                raise StoreCorruptError(self.path, name, f"sha256 {digest[:16]}... differs from the {recorded[:16]}... recorded when it was written: its content changed")
        total = sum(self.meta["files"][name]["bytes"] for name in DATA_FILES)
        return {"files": len(DATA_FILES), "bytes": total, "seconds": time.perf_counter() - start}

    def smiles(self, i: int) -> str:
        """SMILES of stored molecule ``i``."""
        return bytes(self._smiles[self._smiles_ptr[i] : self._smiles_ptr[i + 1]]).decode()

    def all_smiles(self) -> list[str]:
        """SMILES of every stored molecule, in store order."""
        blob = bytes(self._smiles)
        ptr = self._smiles_ptr.tolist()
        return [blob[ptr[i] : ptr[i + 1]].decode() for i in range(len(self))]

    def skipped(self) -> list[SkippedRow]:
        """Every source row that was not stored, with the reason.

        Raises:
            StoreCorruptError: a line is not a skip record, or their number is not the recorded one.
        """
        file = self.path / "skipped.jsonl"
        rows = []
        for number, line in enumerate(file.read_bytes().decode("utf-8", errors="replace").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(SkippedRow(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise StoreCorruptError(self.path, "skipped.jsonl", f"line {number} is not a skip record ({exc})") from exc
        if len(rows) != self.meta["counts"]["skipped"]:
            raise StoreCorruptError(self.path, "skipped.jsonl", f"{len(rows)} skip records, meta.json counts {self.meta['counts']['skipped']}")
        return rows

    def graph(self, i: int):
        """Molecule ``i`` as a ``torch_geometric.data.Data``."""
        return self.graphs.graph(i)

    def batch(self, indices: Sequence[int] | np.ndarray):
        """Molecules ``indices`` collated into one PyG ``Batch``."""
        from molssl.graph.batch import to_batch

        return to_batch(self.graphs.select(indices))


def _atomic_save(arr: np.ndarray, path: Path) -> None:
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())


def write_store(
    path: str | os.PathLike,
    graphs: GraphArrays,
    smiles: Sequence[str],
    rows: np.ndarray,
    skipped: Sequence[SkippedRow],
    scheme: FeaturizationSpec,
    source: dict | None = None,
) -> MoleculeStore:
    """Write a store directory atomically (temporary sibling + rename) and open it.

    Raises:
        FileExistsError: if ``path`` already exists (or another process wrote it meanwhile).
    """
    from molssl import __version__

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    if len(smiles) != len(graphs) or len(rows) != len(graphs):
        raise ValueError(f"{len(graphs)} graphs but {len(smiles)} SMILES and {len(rows)} rows")
    with staged_directory(path, replace=False) as tmp:  # .NAME.tmp-<pid>@<host>-*: the leftover sweep knows it
        encoded = [s.encode() for s in smiles]
        smiles_ptr = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=smiles_ptr[1:])
        arrays = {
            "x": graphs.x,
            "edge_index": graphs.edge_index,
            "edge_attr": graphs.edge_attr,
            "atom_ptr": graphs.atom_ptr.astype(np.int64),
            "edge_ptr": graphs.edge_ptr.astype(np.int64),
            "rows": np.asarray(rows, dtype=np.int64),
            "smiles_ptr": smiles_ptr,
        }
        for name, arr in arrays.items():
            _atomic_save(arr, tmp / f"{name}.npy")
        with open(tmp / "smiles.bin", "wb") as fh:
            fh.write(b"".join(encoded))
            fh.flush()
            os.fsync(fh.fileno())
        with open(tmp / "skipped.jsonl", "w") as fh:
            for row in skipped:
                fh.write(json.dumps(row.to_dict()) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        files = {name: {"bytes": (tmp / name).stat().st_size, "sha256": file_sha256(tmp / name)} for name in DATA_FILES}
        for name, arr in arrays.items():
            files[f"{name}.npy"].update(dtype=np.asarray(arr).dtype.str, shape=list(np.shape(arr)))
        meta = {
            "format": STORE_FORMAT,
            "molssl_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "scheme": scheme.to_dict(),
            "source": source or {},
            "counts": {
                "molecules": len(graphs),
                "atoms": int(graphs.atom_ptr[-1]),
                "edges": int(graphs.edge_ptr[-1]),
                "skipped": len(skipped),
            },
            "files": files,
        }
        # meta.json last: a directory without it never loads as a store
        write_json_atomic(tmp / "meta.json", meta)
    return MoleculeStore(path)
