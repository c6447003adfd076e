"""Descriptor targets of a molecule store or a SMILES list: computed once, cached, standardized robustly.

RDKit descriptors span many orders of magnitude and have heavy tails (``Ipc`` reaches 1e30 on large
ring systems), so a mean/std standardization would let a few molecules dominate the loss. Targets are
centred on the corpus median and scaled by its interquartile range (divided by 1.349, the IQR of a
unit normal, so a Gaussian column ends with unit spread), then clipped. Statistics come from the
pretraining corpus only. Descriptors that are constant over the corpus (IQR and std both 0) carry no
signal and are masked out (all NaN).

The raw values live in ``<store cache>/descriptors-<smiles digest>-<selection id>/`` (``values.npy``,
``meta.json`` written last, atomically), keyed by the content of the store's SMILES so two stores of
the same corpus under different featurization schemes share them. A SMILES list (a text corpus,
``smiles_descriptor_targets``) is cached the same way under the store cache directory, keyed by the
list's content. The computation saves blocks of ``RESUME_BLOCK`` molecules as it goes
(``<cache dir>.parts/``), so one interrupted on a million-molecule corpus (hours of CPU) resumes where it
stopped instead of starting over.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from molssl.data.store import MoleculeStore
from molssl.files import staged_directory, staged_file

logger = logging.getLogger(__name__)

DESCRIPTORS_FORMAT = 1
#: molecules per saved block of a computation in progress (~0.2 CPU-h of all 217 descriptors at ~7 ms each)
RESUME_BLOCK = 100_000
IQR_OF_UNIT_NORMAL = 1.3489795003921634


@dataclass(frozen=True)
class RobustScaler:
    """Per-column ``clip((x - median) / scale, -clip, clip)`` with NaN kept as NaN (= masked).

    Attributes:
        median: per-column median over the finite values.
        scale: per-column IQR / 1.349 (the std when the IQR is 0); 0 marks a constant column, whose
            transformed values are all NaN.
        clip: bound on the transformed values.
    """

    median: tuple[float, ...]
    scale: tuple[float, ...]
    clip: float = 6.0

    @classmethod
    def fit(cls, values: np.ndarray, clip: float = 6.0) -> "RobustScaler":
        """Statistics of ``values`` [M, K], ignoring NaN."""
        if values.ndim != 2:
            raise ValueError(f"values must be [M, K], got shape {values.shape}")
        if not clip > 0:
            raise ValueError(f"clip must be > 0, got {clip}")
        v = values.astype(np.float64)
        median, scale = [], []
        for j in range(v.shape[1]):
            col = v[:, j][np.isfinite(v[:, j])]
            if col.size == 0:
                median.append(0.0)
                scale.append(0.0)
                continue
            q1, q2, q3 = np.percentile(col, [25, 50, 75])
            s = (q3 - q1) / IQR_OF_UNIT_NORMAL
            if not s > 0:
                s = float(col.std())
            median.append(float(q2))
            scale.append(float(s) if s > 0 else 0.0)
        return cls(tuple(median), tuple(scale), float(clip))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Standardized float32 copy of ``values`` [M, K]; constant columns become NaN."""
        median = np.asarray(self.median)
        scale = np.asarray(self.scale)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (values.astype(np.float64) - median) / np.where(scale > 0, scale, np.nan)
        return np.clip(out, -self.clip, self.clip).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"median": list(self.median), "scale": list(self.scale), "clip": self.clip}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RobustScaler":
        return cls(tuple(data["median"]), tuple(data["scale"]), float(data["clip"]))


@dataclass
class DescriptorTargets:
    """Standardized descriptor targets of a store's molecules.

    Attributes:
        values: [M, K] float32 in store order; NaN = masked (failed, non-finite or constant column).
        names: the K descriptors.
        scaler: the standardization (plain data via ``to_dict``).
        description: where the raw values live and what failed (plain data).
    """

    values: np.ndarray
    names: tuple[str, ...]
    scaler: RobustScaler
    description: dict[str, Any]


def _smiles_digest(store: MoleculeStore) -> str:
    h = hashlib.sha256()
    with open(store.path / "smiles.bin", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    h.update(np.asarray(store._smiles_ptr, dtype=np.int64).tobytes())
    return h.hexdigest()


def smiles_digest(smiles: Sequence[str]) -> str:
    """sha256 of a SMILES list, in order: the descriptor cache key, equal to a store's of the same SMILES.

    A store's key covers its ``smiles.bin`` (the UTF-8 SMILES concatenated) and its byte offsets, so a
    text run and a graph run of one corpus share the cached descriptors.
    """
    encoded = [text.encode() for text in smiles]
    h = hashlib.sha256(b"".join(encoded))
    h.update(np.concatenate([[0], np.cumsum([len(e) for e in encoded], dtype=np.int64)]).astype(np.int64).tobytes())
    return h.hexdigest()


def _cache_dir(root: Path, digest: str, names: Sequence[str]) -> Path:
    from rdkit import __version__ as rdkit_version

    selection = hashlib.sha256(json.dumps([list(names), rdkit_version]).encode()).hexdigest()[:8]
    return root / f"descriptors-{digest[:16]}-{selection}"


def descriptor_cache_dir(store: MoleculeStore, names: Sequence[str]) -> Path:
    """Where the raw descriptors of ``store`` for ``names`` are cached (beside the store)."""
    return _cache_dir(store.path.parent, _smiles_digest(store), names)


def _load_cached(path: Path, names: tuple[str, ...], molecules: int) -> tuple[np.ndarray, dict] | None:
    try:
        meta = json.loads((path / "meta.json").read_text())
        values = np.load(path / "values.npy")
    except (OSError, ValueError) as exc:
        logger.warning("recomputing descriptors: cache %s unreadable (%s)", path, exc)
        return None
    if meta.get("format") != DESCRIPTORS_FORMAT or tuple(meta.get("names", ())) != names or values.shape != (molecules, len(names)):
        logger.warning("recomputing descriptors: cache %s does not match this store and selection", path)
        return None
    if meta.get("values_sha256") != hashlib.sha256(values.tobytes()).hexdigest():
        logger.warning("recomputing descriptors: cache %s fails its checksum", path)
        return None
    return values, meta


def _cached_descriptors(
    read_smiles: Callable[[], Sequence[str]],
    molecules: int,
    path: Path,
    names: tuple[str, ...],
    origin: str,
    workers: int,
    progress: Callable[[int], None] | None,
    block_size: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The raw descriptors cached at ``path``, or computed from ``read_smiles()`` and cached there.

    The computation saves its finished blocks beside ``path`` (``<path>.parts``) and resumes from them.
    """
    from rdkit import __version__ as rdkit_version

    if path.exists():
        cached = _load_cached(path, names, molecules)
        if cached is not None:
            logger.info("reusing descriptors %s", path)
            return cached[0], {**cached[1], "path": str(path)}
        shutil.rmtree(path, ignore_errors=True)
    smiles = read_smiles()
    parts = path.with_name(path.name + ".parts")
    result = _compute_in_blocks(smiles, names, parts, workers, progress, RESUME_BLOCK if block_size is None else block_size)
    summary = result.summary()
    if result.failed:
        i, reason = result.failed[0]
        logger.warning("%s: descriptors failed for %d molecule(s) (masked; listed in %s); first: molecule %d %r: %s",
                       origin, len(result.failed), path / "meta.json", i, smiles[i], reason)  # fmt: skip
    meta = {
        "format": DESCRIPTORS_FORMAT,
        "names": list(names),
        "rdkit_version": rdkit_version,
        "store": origin,
        "summary": summary,
        "failed": [{"index": i, "smiles": smiles[i], "reason": r} for i, r in result.failed],
        "values_sha256": hashlib.sha256(result.values.tobytes()).hexdigest(),
    }
    try:
        with staged_directory(path, replace=False) as tmp:
            np.save(tmp / "values.npy", result.values)
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    except FileExistsError:  # another process finished the same computation first
        pass
    shutil.rmtree(parts, ignore_errors=True)
    return result.values, {**meta, "path": str(path)}


def _block_file(parts: Path, start: int) -> Path:
    return parts / f"block-{start:012d}.npz"


def _load_block(file: Path, names: tuple[str, ...], rows: int) -> "DescriptorResult | None":
    from molssl.chem.descriptors import DescriptorResult

    try:
        with np.load(file, allow_pickle=False) as data:
            values = data["values"]
            failed = [(int(i), str(r)) for i, r in zip(data["failed_index"], data["failed_reason"])]
            errors, non_finite = data["errors"], data["non_finite"]
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("recomputing descriptor block %s: unreadable (%s)", file, exc)
        return None
    if values.shape != (rows, len(names)) or errors.shape != (len(names),) or non_finite.shape != (len(names),):
        logger.warning("recomputing descriptor block %s: shape does not match", file)
        return None
    return DescriptorResult(names, values, failed, dict(zip(names, errors.tolist())), dict(zip(names, non_finite.tolist())))


def _save_block(file: Path, part: "DescriptorResult") -> None:
    """Save one block's result (failure indices relative to the block)."""
    with staged_file(file, suffix=".npz") as tmp:
        np.savez(tmp, values=part.values,
                 failed_index=np.asarray([i for i, _ in part.failed], dtype=np.int64),
                 failed_reason=np.asarray([r for _, r in part.failed], dtype=str),
                 errors=np.asarray([part.errors[n] for n in part.names], dtype=np.int64),
                 non_finite=np.asarray([part.non_finite[n] for n in part.names], dtype=np.int64))  # fmt: skip


def _compute_in_blocks(
    smiles: Sequence[str],
    names: tuple[str, ...],
    parts: Path,
    workers: int,
    progress: Callable[[int], None] | None,
    block_size: int,
) -> "DescriptorResult":
    """``compute_descriptors`` in blocks of ``block_size`` molecules, each saved to ``parts`` when done.

    An interrupted computation (a killed job, a session that ended) resumes from its finished blocks: a
    rerun on the same molecules and selection finds them in ``parts`` (whose name carries the SMILES
    digest, the selection and the RDKit version) and computes only the rest; unreadable blocks are
    recomputed. The result equals one uninterrupted ``compute_descriptors`` call.
    """
    from molssl.chem.descriptors import DescriptorResult, compute_descriptors

    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    parts.mkdir(parents=True, exist_ok=True)
    blocks: list[DescriptorResult] = []
    done = 0
    reused = 0
    for start in range(0, len(smiles), block_size):
        chunk = smiles[start : start + block_size]
        file = _block_file(parts, start)
        part = _load_block(file, names, len(chunk)) if file.exists() else None
        if part is None:
            offset = done
            step = None if progress is None else (lambda n, offset=offset: progress(offset + n))
            part = compute_descriptors(chunk, names, workers=workers, progress=step)
            _save_block(file, part)
        else:
            reused += len(chunk)
            if progress is not None:
                progress(done + len(chunk))
        part.failed = [(start + i, r) for i, r in part.failed]
        blocks.append(part)
        done += len(chunk)
    if reused:
        logger.info("descriptors: %d of %d molecules reused from the interrupted computation in %s", reused, len(smiles), parts)
    values = np.concatenate([b.values for b in blocks]) if blocks else np.zeros((0, len(names)), np.float32)
    return DescriptorResult(names, values, [f for b in blocks for f in b.failed],
                            {n: sum(b.errors[n] for b in blocks) for n in names},
                            {n: sum(b.non_finite[n] for b in blocks) for n in names})  # fmt: skip


def raw_descriptors(
    store: MoleculeStore,
    names: Sequence[str] | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    block_size: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Unstandardized descriptors [M, K] of every stored molecule, computed once and cached beside the store.

    The computation saves every ``block_size`` molecules (default ``RESUME_BLOCK``) and an interrupted one
    resumes from its saved blocks when called again.

    Returns:
        (values, meta): meta holds the names, RDKit version, the cache path and the failure summary.
    """
    from molssl.chem.descriptors import check_descriptor_names, descriptor_names

    names = descriptor_names() if names is None else check_descriptor_names(names)
    return _cached_descriptors(store.all_smiles, len(store), descriptor_cache_dir(store, names), names, str(store.path),
                               workers, progress, block_size)  # fmt: skip


def raw_smiles_descriptors(
    smiles: Sequence[str],
    names: Sequence[str] | None = None,
    cache_root: str | Path | None = None,
    origin: str = "<memory>",
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    block_size: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Unstandardized descriptors [M, K] of a SMILES list (a text corpus), cached under ``cache_root``.

    The cache is keyed by the list's content (``smiles_digest``), the names and the RDKit version, in
    ``cache_root`` (default ``molssl.data.store_build.default_cache_dir()``, where the stores live).

    Returns:
        (values, meta): as ``raw_descriptors``.
    """
    from molssl.chem.descriptors import check_descriptor_names, descriptor_names
    from molssl.data.store_build import default_cache_dir

    names = descriptor_names() if names is None else check_descriptor_names(names)
    smiles = list(smiles)
    root = Path(cache_root) if cache_root is not None else default_cache_dir()
    path = _cache_dir(root, smiles_digest(smiles), names)
    return _cached_descriptors(lambda: smiles, len(smiles), path, names, origin, workers, progress, block_size)


def _standardized(values: np.ndarray, meta: dict[str, Any], clip: float, scaler: RobustScaler | None) -> DescriptorTargets:
    scaler = RobustScaler.fit(values, clip=clip) if scaler is None else scaler
    if len(scaler.median) != values.shape[1]:
        raise ValueError(f"scaler has {len(scaler.median)} columns, descriptors have {values.shape[1]}")
    constant = [n for n, s in zip(meta["names"], scaler.scale) if s == 0]
    description = {
        "path": meta["path"], "rdkit_version": meta["rdkit_version"], "descriptors": len(meta["names"]),
        "constant_masked": constant, **{k: meta["summary"][k] for k in ("failed_molecules", "molecules_with_missing_values")},
    }  # fmt: skip
    return DescriptorTargets(scaler.transform(values), tuple(meta["names"]), scaler, description)


def descriptor_targets(
    store: MoleculeStore,
    names: Sequence[str] | None = None,
    clip: float = 6.0,
    workers: int = 1,
    scaler: RobustScaler | None = None,
    progress: Callable[[int], None] | None = None,
) -> DescriptorTargets:
    """Robustly standardized descriptor targets of ``store`` (statistics from the store's molecules).

    Args:
        store: the pretraining corpus.
        names: descriptors (default all RDKit 2D descriptors).
        clip: bound on standardized values.
        workers: processes for the first computation.
        scaler: reuse saved statistics (a resumed run) instead of fitting them.
    """
    values, meta = raw_descriptors(store, names, workers=workers, progress=progress)
    return _standardized(values, meta, clip, scaler)


def smiles_descriptor_targets(
    smiles: Sequence[str],
    names: Sequence[str] | None = None,
    clip: float = 6.0,
    cache_root: str | Path | None = None,
    origin: str = "<memory>",
    workers: int = 1,
    scaler: RobustScaler | None = None,
) -> DescriptorTargets:
    """``descriptor_targets`` of a SMILES list (a text corpus; statistics from the list's molecules)."""
    values, meta = raw_smiles_descriptors(smiles, names, cache_root=cache_root, origin=origin, workers=workers)
    return _standardized(values, meta, clip, scaler)


__all__ = ["DescriptorTargets", "RobustScaler", "descriptor_cache_dir", "descriptor_targets", "raw_descriptors",
           "raw_smiles_descriptors", "smiles_descriptor_targets", "smiles_digest"]  # fmt: skip
