"""SMILES -> graphs: ``featurize`` for one molecule, ``featurize_many`` for lists and files.

Both run the same vectorized pipeline (``featurize`` first tries a per-record cache of it, see
``record_cache``): parse with RDKit (``parse``: text checks, size limits, strict or
lenient sanitization), read per-atom/per-bond property tables for a chunk of molecules at once
(``mol_tables``), then map them to integer features with the scheme's numpy lookups. ``featurize_many``
can spread chunks over processes. Every input ends up either as a graph or as a skip record with a
reason; one input never aborts the others, in this process or in a worker.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterator, Literal, Sequence

import numpy as np

from molssl.chem.errors import FeaturizationError, LenientRow, SkippedRow, describe_exception, shown
from molssl.chem.limits import DEFAULT_MAX_ATOMS, DEFAULT_MAX_SMILES_LENGTH
from molssl.chem.mol_pickle import PICKLE_OPTIONS
from molssl.chem.mol_tables import read_tables, read_tables_for_smiles
from molssl.chem.parse import AtomOrder, ParseOptions, SanitizeMode, parse_plain
from molssl.chem.record_cache import MoleculeFeatures, RecordFeatureCache
from molssl.chem.schemes import SCHEMES, FeaturizationSpec, Scheme, get_scheme
from molssl.graph.arrays import GraphArrays
from molssl.graph.data import graph_data

logger = logging.getLogger(__name__)

OnError = Literal["raise", "skip"]
DEFAULT_CHUNK = 2048


@dataclass
class FeaturizeResult:
    """Graphs for the inputs that featurized, and a record of every input that did not.

    Attributes:
        graphs: the featurized graphs, in input order.
        indices: for each graph, the 0-based position of its SMILES in the input. Shape [M].
        scheme: what the graphs' feature columns are (the scheme's ``FeaturizationSpec``).
        skipped: one record (index, SMILES, reason) per input left out.
        lenient: one record (index, SMILES, strict sanitization's objection) per graph kept only because
            sanitization was lenient (always empty with ``sanitize="strict"``).
        parse_options: how the SMILES were parsed (``ParseOptions.describe()``: sanitize mode, size
            limits); outputs differ between options, so records and caches must carry them.
    """

    graphs: GraphArrays
    indices: np.ndarray
    scheme: FeaturizationSpec
    skipped: list[SkippedRow] = field(default_factory=list)
    lenient: list[LenientRow] = field(default_factory=list)
    parse_options: dict = field(default_factory=lambda: ParseOptions().describe())

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, i: int):
        """Graph ``i`` as a ``torch_geometric.data.Data``."""
        return self.graphs.graph(i)

    def __iter__(self) -> Iterator:
        return (self.graphs.graph(i) for i in range(len(self)))

    @property
    def num_skipped(self) -> int:
        return len(self.skipped)

    def skipped_report(self) -> str:
        """Every skipped row (index, SMILES, reason) and the count, one line each."""
        lines = [f"skipped {self.num_skipped} of {len(self) + self.num_skipped} molecules"]
        lines += [f"  row {s.index}: {shown(s.smiles)}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)

    def lenient_report(self) -> str:
        """Every row kept by lenient sanitization (index, SMILES, reason) and the count, one line each."""
        lines = [f"kept {len(self.lenient)} of {len(self)} molecules with lenient sanitization"]
        lines += [f"  row {r.index}: {shown(r.smiles)}: {r.reason}" for r in self.lenient]
        return "\n".join(lines)


def _first_rows(rows: Sequence[SkippedRow | LenientRow], limit: int = 3) -> str:
    """The first ``limit`` rows as ``row I: 'SMILES': reason``, and how many more there are."""
    shown_rows = "; ".join(f"row {r.index}: {shown(r.smiles)}: {r.reason}" for r in rows[:limit])
    return shown_rows + (f"; ... and {len(rows) - limit} more" if len(rows) > limit else "")


ChunkResult = tuple[GraphArrays, np.ndarray, list[tuple[int, str]], list[tuple[int, str]]]
"""Graphs of one chunk, their input positions, ``(position, reason)`` failures and lenient keeps."""


def _featurize_chunk_unguarded(smiles: Sequence[object], scheme: Scheme, start: int, options: ParseOptions) -> ChunkResult:
    tables, good, failures, lenient = read_tables_for_smiles(smiles, options)
    graphs = scheme.encode(tables)
    kept = np.asarray(good, dtype=np.int64)
    unsupported = scheme.unsupported(tables)
    if unsupported:
        bad = np.zeros(len(good), dtype=bool)
        for pos, reason in unsupported:
            bad[pos] = True
            failures.append((good[pos], reason))
        graphs = graphs.select(np.flatnonzero(~bad))
        kept = kept[~bad]
        dropped = {good[pos] for pos, _ in unsupported}
        lenient = [(i, reason) for i, reason in lenient if i not in dropped]
    failures = sorted((start + i, reason) for i, reason in failures)
    return graphs, kept + start, failures, [(start + i, reason) for i, reason in lenient]


def _featurize_chunk(smiles: Sequence[object], scheme: Scheme, start: int, options: ParseOptions) -> ChunkResult:
    """Featurize one chunk; an unexpected exception costs only the molecules that raise it.

    ``parse`` already turns whatever RDKit raises on one input into that input's reason. Anything that
    still escapes (a bug, memory) sends the chunk through again one molecule at a time, so that it is
    charged to the inputs that raise it, with the exception as their reason, instead of aborting the batch.
    """
    try:
        return _featurize_chunk_unguarded(smiles, scheme, start, options)
    except Exception as exc:  # noqa: BLE001 - reported per molecule below
        if len(smiles) == 1:
            logger.warning("featurizing input %d raised", start, exc_info=True)
            empty = scheme.encode(read_tables([]))
            return empty, np.zeros(0, dtype=np.int64), [(start, f"featurization raised {describe_exception(exc)}")], []
    parts = [_featurize_chunk([s], scheme, start + k, options) for k, s in enumerate(smiles)]
    return (
        GraphArrays.concat([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        [f for p in parts for f in p[2]],
        [r for p in parts for r in p[3]],
    )


def _joined(parts: list[GraphArrays]) -> GraphArrays:
    """``GraphArrays.concat(parts)``, without the copy when there is one part (a short list's call, ~60 us of ~500)."""
    return parts[0] if len(parts) == 1 else GraphArrays.concat(parts)


FEW_MOLECULES = 16
"""Lists up to this long are featurized one molecule at a time (``featurize``'s record cache), which is
faster than the vectorized chunk decoder's fixed cost for a handful of molecules. Measured (new MOSES
molecules every repeat, 1 thread, loaded 2-core AMD EPYC, CPU ms, one at a time vs chunk): 1 molecule
0.76 vs 1.81, 8: 3.9 vs 3.4, 12: 4.6 vs 4.4, 16: 7.6 vs 7.9, 24: 7.8 vs 6.5, 32: 10.2 vs 7.4-8.1, 64: 20.2
vs 13.9 (the limit was 64: a predict of 32 SMILES spent 30% more on featurization than it needed)."""


def _featurize_few(smiles: Sequence[object], scheme: Scheme, options: ParseOptions) -> ChunkResult:
    """``_featurize_chunk`` for a short list: each molecule through the record cache, the rest one by one
    through ``_featurize_chunk`` (which gives their reasons and lenient records)."""
    cache = _record_cache(scheme)
    parts: list[GraphArrays] = []
    kept: list[int] = []
    failures: list[tuple[int, str]] = []
    lenient: list[tuple[int, str]] = []
    for i, s in enumerate(smiles):
        found = _cached_features(s, cache, options)
        if found is None:
            graphs, idx, fails, kept_leniently = _featurize_chunk([s], scheme, i, options)
            parts.append(graphs)
            kept.extend(idx.tolist())
            failures.extend(fails)
            lenient.extend(kept_leniently)
            continue
        x, edge_index, edge_attr = found
        parts.append(GraphArrays(
            x=x.astype(scheme.dtype), edge_index=edge_index.astype(np.int32), edge_attr=edge_attr.astype(scheme.dtype),
            atom_ptr=np.array([0, len(x)]), edge_ptr=np.array([0, edge_index.shape[1]]),
        ))  # fmt: skip
        kept.append(i)
    if not parts:
        parts.append(scheme.encode(read_tables([])))
    return _joined(parts), np.asarray(kept, dtype=np.int64), failures, lenient


def _chunk_job(args: tuple[list, str, int, ParseOptions]) -> ChunkResult:
    smiles, scheme_name, start, options = args
    return _featurize_chunk(smiles, get_scheme(scheme_name), start, options)


def _pool_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def featurize_many(
    smiles: Sequence[str],
    scheme: str = "hu",
    on_error: OnError = "raise",
    workers: int = 1,
    chunk_size: int = DEFAULT_CHUNK,
    rows: Sequence[int] | np.ndarray | None = None,
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    sanitize: SanitizeMode = "strict",
    max_atoms: int | None = DEFAULT_MAX_ATOMS,
    max_smiles_length: int | None = DEFAULT_MAX_SMILES_LENGTH,
    atom_order: AtomOrder = "input",
) -> FeaturizeResult:
    """Featurize a list of SMILES.

    Each input is a graph or a skip record with a reason, whatever it holds: a SMILES must be consumed
    whole (surrounding whitespace is stripped; whitespace, non-ASCII or control characters inside it are
    reasons, see ``molssl.chem.smiles_text``), and anything RDKit raises on one input is that input's
    reason, in this process or in a worker.

    Args:
        smiles: the inputs.
        scheme: a registered scheme name (``"hu"`` or ``"ogb"``).
        on_error: ``"raise"`` stops at the first bad input with a ``FeaturizationError`` naming its row
            and the reason; ``"skip"`` leaves bad inputs out and records each in ``result.skipped``.
        workers: processes to use (1 = this process). Chunks are spread over a process pool.
        chunk_size: molecules per vectorized chunk.
        rows: the row number of each input in its file, used in error messages and skip records
            (defaults to the position in ``smiles``).
        source: the file the inputs came from, for error messages.
        progress: called with the number of molecules done after each chunk.
        sanitize: ``"strict"`` (RDKit's full sanitization) or ``"lenient"``: a molecule that fails only
            RDKit's valence check (hypervalent atoms that RDKit before 2024.09, and so pretrain-gnns and
            OGB, accepted) is sanitized without it and kept, and listed in ``result.lenient`` with the
            strict failure. Use it to match the literature's molecule counts; graphs of molecules that
            strict sanitization accepts are the same in both modes.
        max_atoms: skip molecules with more atoms than this, counted as written in the SMILES (explicit
            hydrogens included), before RDKit's sanitization (whose ring perception takes seconds on
            thousands of atoms). None disables the limit. The default is twice the largest MoleculeNet
            molecule.
        max_smiles_length: skip SMILES longer than this many characters, before parsing. None disables it.
        atom_order: ``"input"`` keeps the SMILES's atom order (pretrain-gnns and OGB do); ``"canonical"``
            renumbers each molecule into RDKit's canonical order first, so every spelling of a molecule
            gives the same graph, chirality features included (``ParseOptions.atom_order``).

    Returns:
        A ``FeaturizeResult``; ``result.indices`` maps each graph back to its input position.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if rows is not None and len(rows) != len(smiles):
        raise ValueError(f"rows has {len(rows)} entries for {len(smiles)} SMILES")
    options = _parse_options(sanitize, max_atoms, max_smiles_length, atom_order)  # validated once per combination
    scheme_obj = get_scheme(scheme)
    jobs = [(list(smiles[s : s + chunk_size]), scheme_obj.name, s, options) for s in range(0, len(smiles), chunk_size)]

    def row_of(i: int) -> int:
        return int(rows[i]) if rows is not None else i

    parts: list[GraphArrays] = []
    kept: list[np.ndarray] = []
    failures: list[tuple[int, str]] = []
    lenient: list[tuple[int, str]] = []

    def collect(result: ChunkResult) -> None:
        graphs, idx, fails, kept_leniently = result
        if fails and on_error == "raise":
            i, reason = fails[0]
            raise FeaturizationError(smiles[i], reason, row=row_of(i), source=source)
        parts.append(graphs)
        kept.append(idx)
        failures.extend(fails)
        lenient.extend(kept_leniently)
        if progress is not None:
            progress(len(idx) + len(fails))

    if len(smiles) <= FEW_MOLECULES:
        collect(_featurize_few(smiles, scheme_obj, options))
    elif workers == 1 or len(jobs) <= 1:
        for job in jobs:
            collect(_featurize_chunk(job[0], scheme_obj, job[2], options))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
            for result in pool.map(_chunk_job, jobs):
                collect(result)

    if not parts:
        parts.append(scheme_obj.encode(read_tables([])))
        kept.append(np.zeros(0, dtype=np.int64))
    skipped = [SkippedRow(index=row_of(i), smiles=str(smiles[i]), reason=reason) for i, reason in failures]
    kept_leniently = [LenientRow(index=row_of(i), smiles=str(smiles[i]), reason=reason) for i, reason in lenient]
    from_source = f" from {source}" if source else ""
    if skipped:
        logger.warning("skipped %d of %d molecules%s: %s", len(skipped), len(smiles), from_source, _first_rows(skipped))
    if kept_leniently:
        logger.warning("kept %d of %d molecules%s with lenient sanitization: %s", len(kept_leniently), len(smiles),
                       from_source, _first_rows(kept_leniently))  # fmt: skip
    return FeaturizeResult(
        graphs=_joined(parts),
        indices=np.concatenate(kept),
        skipped=skipped,
        scheme=scheme_obj.spec,
        lenient=kept_leniently,
        parse_options=options.describe(),
    )


_RECORD_CACHES: dict[object, RecordFeatureCache] = {}


def _record_cache(scheme: str | Scheme) -> RecordFeatureCache:
    """The process-wide record cache of ``scheme`` (a registered name or a ``Scheme``)."""
    key = type(scheme) if isinstance(scheme, Scheme) else SCHEMES.get(scheme, scheme)
    cache = _RECORD_CACHES.get(key)
    if cache is None:
        cache = _RECORD_CACHES.setdefault(key, RecordFeatureCache(get_scheme(scheme)))
    return cache


def _cached_features(smiles: object, cache: RecordFeatureCache, options: ParseOptions) -> MoleculeFeatures | None:
    """The graph arrays of a plain SMILES whose records are all cached (or can be added); None otherwise."""
    try:
        mol = parse_plain(smiles, options)
        return cache.features(mol.ToBinary(PICKLE_OPTIONS)) if mol is not None else None
    except Exception:  # noqa: BLE001 - the chunk path reports it as this input's reason
        return None


@functools.lru_cache(maxsize=64)
def _cached_options(sanitize: str, max_atoms: int | None, max_smiles_length: int | None, atom_order: str) -> ParseOptions:
    return ParseOptions(sanitize=sanitize, max_atoms=max_atoms, max_smiles_length=max_smiles_length, atom_order=atom_order)


def _parse_options(sanitize: object, max_atoms: object, max_smiles_length: object, atom_order: object) -> ParseOptions:
    """``ParseOptions`` of these values, validated once per distinct combination."""
    try:
        return _cached_options(sanitize, max_atoms, max_smiles_length, atom_order)
    except TypeError:  # unhashable: not valid either, ParseOptions says why
        return ParseOptions(sanitize=sanitize, max_atoms=max_atoms, max_smiles_length=max_smiles_length, atom_order=atom_order)


def featurize(
    smiles: str,
    scheme: str = "hu",
    *,
    sanitize: SanitizeMode = "strict",
    max_atoms: int | None = DEFAULT_MAX_ATOMS,
    max_smiles_length: int | None = DEFAULT_MAX_SMILES_LENGTH,
    atom_order: AtomOrder = "input",
):
    """Featurize one SMILES string into a ``torch_geometric.data.Data``.

    The graph has ``x`` [N, F_atom], ``edge_index`` [2, E] (both directions of every bond, RDKit bond
    order), ``edge_attr`` [E, F_bond] (all int64) and ``smiles``. It equals the corresponding graph of
    ``featurize_many``, which takes the same ``sanitize``, ``max_atoms``, ``max_smiles_length`` and
    ``atom_order`` (and reports the molecules kept by lenient sanitization).

    A plain SMILES (``parse.parse_plain``) is featurized by looking its atom and bond records up in a
    process-wide cache of the scheme's feature rows (``record_cache``), several times faster than a
    chunk of one; anything else, and any molecule with a record not cached yet, goes through
    ``featurize_many``'s own path.

    Raises:
        FeaturizationError: (a ``ValueError``) naming the SMILES and the reason when it cannot be
            parsed, is empty, has no atoms, holds whitespace or characters that are not printable ASCII,
            exceeds a size limit, or holds something the scheme cannot represent.
    """
    options = _parse_options(sanitize, max_atoms, max_smiles_length, atom_order)
    cache = _record_cache(scheme)
    found = _cached_features(smiles, cache, options)
    if found is not None:
        return graph_data(*found, smiles=smiles)
    graphs, _, failures, _ = _featurize_chunk([smiles], cache.scheme, 0, options)
    if failures:
        raise FeaturizationError(smiles, failures[0][1])
    data = graphs.graph(0)
    data.smiles = smiles
    return data
