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
list's content.
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
from molssl.files import staged_directory

logger = logging.getLogger(__name__)

DESCRIPTORS_FORMAT = 1
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
) -> tuple[np.ndarray, dict[str, Any]]:
    """The raw descriptors cached at ``path``, or computed from ``read_smiles()`` and cached there."""
    from rdkit import __version__ as rdkit_version

    from molssl.chem.descriptors import compute_descriptors

    if path.exists():
        cached = _load_cached(path, names, molecules)
        if cached is not None:
            logger.info("reusing descriptors %s", path)
            return cached[0], {**cached[1], "path": str(path)}
        shutil.rmtree(path, ignore_errors=True)
    smiles = read_smiles()
    result = compute_descriptors(smiles, names, workers=workers, progress=progress)
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
    return result.values, {**meta, "path": str(path)}


def raw_descriptors(
    store: MoleculeStore,
    names: Sequence[str] | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Unstandardized descriptors [M, K] of every stored molecule, computed once and cached beside the store.

    Returns:
        (values, meta): meta holds the names, RDKit version, the cache path and the failure summary.
    """
    from molssl.chem.descriptors import check_descriptor_names, descriptor_names

    names = descriptor_names() if names is None else check_descriptor_names(names)
    return _cached_descriptors(store.all_smiles, len(store), descriptor_cache_dir(store, names), names, str(store.path),
                               workers, progress)  # fmt: skip


def raw_smiles_descriptors(
    smiles: Sequence[str],
    names: Sequence[str] | None = None,
    cache_root: str | Path | None = None,
    origin: str = "<memory>",
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
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
    return _cached_descriptors(lambda: smiles, len(smiles), path, names, origin, workers, progress)


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
