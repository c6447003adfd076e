"""RDKit 2D molecular descriptors, computed for many molecules at once, with every failure accounted for.

The targets of descriptor-prediction pretraining (MolBERT's physicochemical task, Fabian et al. 2020;
chemprop's CheMeleon, pretrained on Mordred descriptors): one float per descriptor and molecule, NaN
where RDKit could not compute it or the value is not finite in float32. The descriptor set is
RDKit's own list (``rdkit.Chem.Descriptors._descList``: 217 names in RDKit 2026.09), which changes
between RDKit releases; callers record ``descriptor_names()`` and the RDKit version with the values.
"""

from __future__ import annotations

import math
import multiprocessing
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

DEFAULT_CHUNK = 1000


def _descriptor_functions() -> dict[str, Callable]:
    from rdkit.Chem import Descriptors

    return dict(Descriptors._descList)


#: descriptors that RDKit computes each from the atoms' E-state indices, recomputed for every one of them
#: (``EStateIndices(mol, force=1)``, ~0.45 ms on a MOSES molecule): here computed once per molecule and
#: reduced exactly as RDKit's functions reduce them
_FROM_ESTATE: dict[str, Callable[[Sequence[float]], float]] = {
    "MaxEStateIndex": max,
    "MinEStateIndex": min,
    "MaxAbsEStateIndex": lambda indices: max(abs(x) for x in indices),
    "MinAbsEStateIndex": lambda indices: min(abs(x) for x in indices),
}


def _memo_functions(names: Sequence[str]) -> list[Callable[[object, dict], float]]:
    """One function ``(mol, memo) -> value`` per name; ``memo`` (a fresh dict per molecule) holds what
    several descriptors share, so it is computed once per molecule."""
    from rdkit.Chem.EState import EStateIndices

    def from_estate(reduce: Callable[[Sequence[float]], float]) -> Callable[[object, dict], float]:
        def value(mol: object, memo: dict) -> float:
            if "estate" not in memo:
                memo["estate"] = EStateIndices(mol, force=1)
            return reduce(memo["estate"])

        return value

    def plain(function: Callable[[object], float]) -> Callable[[object, dict], float]:
        return lambda mol, memo: function(mol)

    functions = _descriptor_functions()
    return [from_estate(_FROM_ESTATE[n]) if n in _FROM_ESTATE else plain(functions[n]) for n in names]


def descriptor_names() -> tuple[str, ...]:
    """Names of every RDKit 2D descriptor this RDKit computes, in RDKit's order."""
    return tuple(_descriptor_functions())


def check_descriptor_names(names: Sequence[str]) -> tuple[str, ...]:
    """Validate a descriptor selection; an unknown name is an error listing where to find the valid ones."""
    available = _descriptor_functions()
    names = tuple(names)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(f"unknown RDKit descriptor(s) {unknown}; valid names: molssl.chem.descriptors.descriptor_names() "
                         f"({len(available)} in this RDKit)")  # fmt: skip
    if len(set(names)) != len(names):
        raise ValueError("descriptor names must not repeat")
    if not names:
        raise ValueError("at least one descriptor is needed")
    return names


@dataclass
class DescriptorResult:
    """Descriptors of a list of molecules.

    Attributes:
        names: the descriptors, one per column.
        values: [M, K] float32, one row per input molecule in input order; NaN = not available.
        failed: (input index, reason) of every molecule RDKit could not parse (its row is all NaN).
        errors: per descriptor, how many molecules raised an exception while computing it.
        non_finite: per descriptor, how many values were NaN, infinite or beyond float32.
    """

    names: tuple[str, ...]
    values: np.ndarray
    failed: list[tuple[int, str]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    non_finite: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        """Counts as plain data (for run configs and reports)."""
        return {
            "molecules": int(self.values.shape[0]),
            "descriptors": len(self.names),
            "failed_molecules": len(self.failed),
            "molecules_with_missing_values": int(np.isnan(self.values).any(axis=1).sum()),
            "errors": {k: v for k, v in self.errors.items() if v},
            "non_finite": {k: v for k, v in self.non_finite.items() if v},
        }


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _compute_chunk(args: tuple[list[str], tuple[str, ...], int]) -> DescriptorResult:
    from rdkit import rdBase

    from molssl.chem.errors import FeaturizationError
    from molssl.chem.parse import parse_smiles

    smiles, names, start = args
    fns = _memo_functions(names)
    values = np.full((len(smiles), len(names)), np.nan, dtype=np.float32)
    failed: list[tuple[int, str]] = []
    errors = [0] * len(names)
    non_finite = [0] * len(names)
    with rdBase.BlockLogs():
        for i, s in enumerate(smiles):
            try:
                mol = parse_smiles(s)
            except FeaturizationError as exc:
                failed.append((start + i, exc.reason))
                continue
            except Exception as exc:  # RDKit may raise anything on hostile input; the row is reported, not fatal
                failed.append((start + i, f"RDKit failed: {type(exc).__name__}: {exc}"))
                continue
            row, memo = values[i], {}
            for j, fn in enumerate(fns):
                try:
                    v = float(fn(mol, memo))
                except Exception:
                    errors[j] += 1
                    continue
                if math.isfinite(v) and abs(v) <= _FLOAT32_MAX:
                    row[j] = v
                else:
                    non_finite[j] += 1
    return DescriptorResult(names, values, failed, dict(zip(names, errors)), dict(zip(names, non_finite)))


def compute_descriptors(
    smiles: Sequence[str],
    names: Sequence[str] | None = None,
    workers: int = 1,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> DescriptorResult:
    """RDKit 2D descriptors of every SMILES (parsed as ``molssl.chem.parse.parse_smiles`` does).

    Args:
        smiles: the molecules.
        names: descriptors to compute (default all, ``descriptor_names()``).
        workers: processes (chunks of ``chunk_size`` molecules each); 1 computes in this process.
        chunk_size: molecules per chunk.
        progress: called with the number of molecules done after each chunk.

    Shapes:
        -> values [len(smiles), len(names)]
    """
    names = descriptor_names() if names is None else check_descriptor_names(names)
    if workers < 1 or chunk_size < 1:
        raise ValueError(f"workers and chunk_size must be >= 1, got {workers} and {chunk_size}")
    smiles = list(smiles)
    jobs = [(smiles[i : i + chunk_size], names, i) for i in range(0, len(smiles), chunk_size)]
    parts: list[DescriptorResult] = []
    done = 0
    if workers == 1 or len(jobs) <= 1:
        results = map(_compute_chunk, jobs)
        pool = None
    else:
        methods = multiprocessing.get_all_start_methods()
        pool = multiprocessing.get_context("fork" if "fork" in methods else "spawn").Pool(workers)
        results = pool.imap(_compute_chunk, jobs)
    try:
        for part in results:
            parts.append(part)
            done += part.values.shape[0]
            if progress is not None:
                progress(done)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    values = np.concatenate([p.values for p in parts]) if parts else np.zeros((0, len(names)), np.float32)
    return DescriptorResult(
        names,
        values,
        [f for p in parts for f in p.failed],
        {n: sum(p.errors[n] for p in parts) for n in names},
        {n: sum(p.non_finite[n] for p in parts) for n in names},
    )


__all__ = ["DescriptorResult", "check_descriptor_names", "compute_descriptors", "descriptor_names"]
