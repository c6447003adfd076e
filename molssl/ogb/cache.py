"""The parsed-array cache of an OGB dataset: ``.npy`` files in ``<dataset>/molssl/raw-v2/``, checked on every load.

Parsing OGB's gzipped CSV files takes seconds to minutes; the parsed graphs, labels and split are kept
as ``.npy`` files beside them. ``meta.json`` (written last, after everything else, into a temporary
folder renamed into place) records the sha256 of every file of the layout the cache was parsed from
and of every cached array. A load uses the cache only if the layout's files are the same and every
array still has its recorded checksum, shape and offsets; a cache that fails any check is reported with
a warning and the layout is parsed again, so a damaged or hand-edited cache is never trained on.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from molssl.data.splits import Split
from molssl.files import file_sha256, remove_aside, staged_directory
from molssl.graph.arrays import GraphArrays

logger = logging.getLogger(__name__)

CACHE_VERSION = 2
ARRAYS = ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr", "labels", "train", "valid", "test")
#: what a parsed layout is: graphs, labels [M, T], split, task names
Parsed = tuple[GraphArrays, np.ndarray, Split, tuple[str, ...]]


class _Damaged(Exception):
    """The cache fails a check (the message says which)."""


def cache_dir(directory: Path) -> Path:
    """Where the cache of the dataset folder ``directory`` lives."""
    return directory / "molssl" / f"raw-v{CACHE_VERSION}"


def _check_meta(meta: Any, num_tasks: int) -> None:
    if not isinstance(meta, dict):
        raise _Damaged(f"meta.json holds a JSON {type(meta).__name__}, not an object")
    names = meta.get("task_names")
    if not (isinstance(names, list) and len(names) == num_tasks and all(isinstance(n, str) for n in names)):
        raise _Damaged(f"meta.json: task_names must be {num_tasks} name(s), found {names!r}")
    arrays, m = meta.get("arrays"), meta.get("num_graphs")
    if not (isinstance(arrays, dict) and set(arrays) == set(ARRAYS) and all(isinstance(v, str) for v in arrays.values())):
        raise _Damaged(f"meta.json: 'arrays' must give the sha256 of {', '.join(ARRAYS)}")
    if not (isinstance(m, int) and not isinstance(m, bool) and m >= 0):
        raise _Damaged(f"meta.json: num_graphs must be a count, found {m!r}")


def _load_arrays(cache: Path, meta: dict[str, Any], num_tasks: int) -> Parsed:
    arrays = {}
    for name in ARRAYS:
        file = cache / f"{name}.npy"
        try:
            digest = file_sha256(file)
        except OSError as exc:
            raise _Damaged(f"{file.name}: unreadable ({exc})") from exc
        if digest != meta["arrays"][name]:
            raise _Damaged(f"{file.name}: sha256 differs from the one recorded when the cache was written (the file changed)")
        try:
            arrays[name] = np.load(file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise _Damaged(f"{file.name}: not an array ({exc})") from exc
    m = meta["num_graphs"]
    try:
        graphs = GraphArrays(x=arrays["x"], edge_index=arrays["edge_index"], edge_attr=arrays["edge_attr"],
                             atom_ptr=np.asarray(arrays["atom_ptr"]), edge_ptr=np.asarray(arrays["edge_ptr"]))  # fmt: skip
    except ValueError as exc:
        raise _Damaged(f"arrays disagree ({exc})") from exc
    if len(graphs) != m or arrays["labels"].shape != (m, num_tasks):
        raise _Damaged(f"{len(graphs)} graphs and labels of shape {arrays['labels'].shape}, meta.json records {m} graphs and {num_tasks} task(s)")
    for ptr in (graphs.atom_ptr, graphs.edge_ptr):
        if ptr[0] != 0 or (np.diff(ptr) < 0).any():
            raise _Damaged("offsets that do not start at 0 or decrease")
    split = Split(*(np.asarray(arrays[part]) for part in ("train", "valid", "test")))
    for part in split:
        if part.size and (part.min() < 0 or part.max() >= m):
            raise _Damaged(f"a split index outside [0, {m})")
    return graphs, np.asarray(arrays["labels"]), split, tuple(meta["task_names"])


def load_cache(cache: Path, digests: dict[str, str], num_tasks: int) -> Parsed | None:
    """The cached arrays, or None when there is no usable cache (a damaged one is reported with a warning).

    Args:
        cache: the cache folder (``cache_dir(directory)``).
        digests: sha256 of every file of the layout now, keyed by path relative to the dataset folder.
        num_tasks: the dataset's number of tasks.
    """
    if not os.path.lexists(cache):
        return None
    meta_file = cache / "meta.json"
    try:
        try:
            meta = json.loads(meta_file.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _Damaged(f"meta.json unreadable ({exc})") from exc
        if isinstance(meta, dict) and (meta.get("cache_version") != CACHE_VERSION or meta.get("files") != digests):
            logger.info("the files of %s changed since its cache was written: parsing them again", cache.parent.parent)
            return None
        _check_meta(meta, num_tasks)
        return _load_arrays(cache, meta, num_tasks)
    except _Damaged as exc:
        warnings.warn(f"rebuilding the cache {cache}: {exc}", stacklevel=3)
        return None


def write_cache(cache: Path, parsed: Parsed, digests: dict[str, str]) -> None:
    """Write the parsed arrays atomically (temporary folder, ``meta.json`` last, renamed into place).

    Caches of earlier versions beside it are removed.
    """
    graphs, labels, split, task_names = parsed
    arrays = {"x": graphs.x, "edge_index": graphs.edge_index, "edge_attr": graphs.edge_attr, "atom_ptr": graphs.atom_ptr,
              "edge_ptr": graphs.edge_ptr, "labels": labels, "train": split.train, "valid": split.valid, "test": split.test}  # fmt: skip
    with staged_directory(cache) as tmp:
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        meta = {"cache_version": CACHE_VERSION, "files": digests, "task_names": list(task_names), "num_graphs": len(graphs),
                "arrays": {name: file_sha256(tmp / f"{name}.npy") for name in arrays}}  # fmt: skip
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))  # last: its presence marks a complete cache
    for old in cache.parent.glob("raw-v*"):
        if old != cache and old.name[len("raw-v") :].isdigit():
            remove_aside(old)


__all__ = ["ARRAYS", "CACHE_VERSION", "cache_dir", "load_cache", "write_cache"]
