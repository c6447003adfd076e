"""Featurizing a SMILES file into a molecule store, cached by the file's content and the featurization.

Stores built from a file live under a cache directory (``default_cache_dir()``) in
``<stem>-<scheme>-v<version>-f<format>-<digest>-<id>`` (``store_key``), keyed by the file's content, the
featurization spec and the parse options, so rebuilding the same file the same way reuses the store and a
changed file or scheme builds a new one. A store found damaged is rebuilt from its source with a
``StoreRebuildWarning``. A killed build leaves only a temporary directory (``molssl.data.store.write_store``),
which ``remove_stale_builds`` deletes once its process is gone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from molssl.chem.schemes.spec import FeaturizationSpec
from molssl.data.store import STORE_FORMAT, MoleculeStore, StoreCorruptError, StoreError, write_store
from molssl.process_owner import STALE_AFTER_S, owner_tag, process_alive, this_host

logger = logging.getLogger(__name__)


class StoreRebuildWarning(UserWarning):
    """``build_store`` found the cached store damaged and builds it again from its source."""


def default_cache_dir() -> Path:
    """``$MOLSSL_CACHE`` if set, else ``~/.cache/molssl``."""
    env = os.environ.get("MOLSSL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "molssl"


# .<store name>.tmp-[<pid>@<host>-]<anything>; store names end in -f<format>-<16 hex>-<8 hex> (store_key)
_LEFTOVER = re.compile(r"\.(?P<store>.+-f\d+-[0-9a-f]{16}-[0-9a-f]{8})\.tmp-(?:(?P<pid>\d+)@(?P<host>[A-Za-z0-9_.]+)-)?.*", re.S)


def remove_stale_builds(cache_dir: str | os.PathLike, max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete the temporary directories that killed store builds left in ``cache_dir``.

    A build's temporary directory carries the id and host of its process: it is removed when that
    process, on this host, no longer exists. One whose owner cannot be checked (another host, or named
    by molssl 0.1, which recorded no owner) is removed once it is older than ``max_age_s``. A live
    build's directory is never touched, nor anything that is not a store build's. Each removal is
    reported with a warning.

    Returns:
        the removed directories.
    """
    root = Path(cache_dir)
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    here = this_host()
    removed = []
    for entry in entries:
        match = _LEFTOVER.fullmatch(entry.name)
        if match is None:
            continue
        if match["pid"] is not None and match["host"] == here and os.name == "posix":
            if process_alive(int(match["pid"])):
                continue
            why = f"its build process {match['pid']} is gone"
        else:
            try:
                age = time.time() - entry.lstat().st_mtime
            except OSError:
                continue
            if age < max_age_s:
                continue
            why = f"older than {max_age_s / 3600:g} h, and its build process cannot be checked"
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:  # finished or removed meanwhile
            continue
        except OSError as exc:
            logger.warning("could not remove the leftover of an interrupted store build %s (%s)", entry, exc)
            continue
        warnings.warn(f"removed {entry}, the leftover of an interrupted molecule store build: {why.replace('its build process', 'process')}", stacklevel=2)
        removed.append(entry)
    return removed


def _discard(path: Path) -> None:
    """Remove a (damaged) store or whatever stands at its path: renamed aside first, so nobody opens it half-deleted."""
    aside = path.with_name(f".{path.name}.tmp-{owner_tag()}-discard-{uuid.uuid4().hex[:8]}")
    os.replace(path, aside)
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside)
    else:
        aside.unlink()


def store_key(source_digest: str, scheme: FeaturizationSpec, stem: str, parse: dict | None = None) -> str:
    """Directory name of the store of a source file (by content digest) under a scheme and parse options.

    ``parse`` is ``molssl.chem.parse.ParseOptions.describe()`` (sanitize mode, size limits): stores of the
    same file parsed differently hold different molecules, so they never share a directory.
    """
    scheme_id = hashlib.sha256(json.dumps([scheme.to_dict(), parse], sort_keys=True).encode()).hexdigest()[:8]
    return f"{stem}-{scheme.name}-v{scheme.version}-f{STORE_FORMAT}-{source_digest[:16]}-{scheme_id}"


def build_store(
    source: str | os.PathLike,
    scheme: str = "hu",
    cache_dir: str | os.PathLike | None = None,
    smiles_column: str | None = None,
    workers: int = 1,
    on_error: str = "skip",
    rebuild: bool = False,
    progress: Callable[[int], None] | None = None,
    verify: bool = True,
    sanitize: str = "strict",
) -> MoleculeStore:
    """Featurize a SMILES file into a store, or open the store already built from the same content.

    A store found in the cache is checked before it is reused (``verify=True``: every file's sha256,
    about 1 GB/s); a damaged one is built again from ``source``, with a ``StoreRebuildWarning`` saying
    why. Leftovers of interrupted builds in the cache are removed first (``remove_stale_builds``).

    Args:
        source: a SMILES, CSV or TSV file, optionally gzipped (see ``molssl.data.corpus``).
        scheme: featurization scheme name.
        cache_dir: where stores live (default: ``default_cache_dir()``).
        smiles_column: the SMILES column of a CSV/TSV (detected when omitted).
        workers: featurization processes.
        on_error: ``"skip"`` stores the good molecules and records every bad row in ``skipped.jsonl``;
            ``"raise"`` stops at the first bad row with an error naming the file, row and reason.
        rebuild: build again even if a store for this content and scheme exists.
        progress: called with the number of molecules done after each chunk.
        verify: check the checksums of a reused store (``False``: only the cheap checks of opening).
        sanitize: ``"strict"`` or ``"lenient"`` (also keep molecules that fail only RDKit's valence check;
            they are listed in ``meta.json``'s ``source.lenient``); see ``molssl.featurize_many``.
    """
    from molssl.chem.featurize import featurize_many
    from molssl.chem.parse import ParseOptions
    from molssl.chem.schemes import get_spec
    from molssl.data.corpus import read_smiles_file
    from molssl.files import file_sha256

    source = Path(source)
    spec = get_spec(scheme)
    parse = ParseOptions(sanitize=sanitize).describe()
    digest = file_sha256(source)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    remove_stale_builds(root)
    stem = source.name.split(".")[0] or "corpus"
    path = root / store_key(digest, spec, stem, parse)
    if os.path.lexists(path):
        if not rebuild:
            try:
                store = MoleculeStore(path, verify=verify)
                logger.info("reusing molecule store %s", path)
                return store
            except StoreCorruptError as exc:
                warnings.warn(f"{exc.problem}; rebuilding it from {source}", StoreRebuildWarning, stacklevel=2)
            except StoreError:  # removed meanwhile: build it
                pass
        if os.path.lexists(path):
            _discard(path)
    from molssl.data.provenance import read_provenance

    corpus = read_smiles_file(source, smiles_column=smiles_column)
    result = featurize_many(
        corpus.smiles, scheme=scheme, on_error=on_error, workers=workers, rows=corpus.rows, source=str(source), progress=progress,
        sanitize=sanitize,  # type: ignore[arg-type]
    )
    kept_smiles = [corpus.smiles[i] for i in result.indices.tolist()]
    source_meta = {"path": str(source.resolve()), "sha256": digest, "rows": len(corpus.smiles), "parse": parse,
                   "lenient": [r.to_dict() for r in result.lenient]}  # fmt: skip
    provenance = read_provenance(source, digest)  # e.g. a decontaminated corpus (molssl audit --decontaminate)
    if provenance is not None:
        source_meta["provenance"] = provenance
    try:
        return write_store(path, result.graphs, kept_smiles, np.asarray(corpus.rows)[result.indices], result.skipped, spec, source_meta)
    except FileExistsError:  # another process finished the same build first
        return MoleculeStore(path)
