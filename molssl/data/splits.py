"""Train/valid/test splits: the :class:`Split` record; scaffold, random scaffold, random and stratified splitters.

``scaffold_split``, ``random_scaffold_split`` and ``random_split`` reproduce the splits of pretrain-gnns
(Hu et al., "Strategies for Pre-training Graph Neural Networks", ICLR 2020), which OGB's ``ogbg-mol*``
scaffold splits also follow, so results stay comparable with that literature.
"""

from __future__ import annotations

import math
import multiprocessing
import numbers
import random
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any, Iterator, Mapping, Sequence, Sized

import numpy as np

_PARTS = ("train", "valid", "test")
# below this many molecules per worker, starting processes costs more than it saves
_MIN_PER_WORKER = 1000


@dataclass(frozen=True, eq=False)
class Split:
    """Row indices of a train/valid/test split; unpacks as ``train, valid, test = split``.

    Each part is a read-only 1-D int64 array. The order inside a part is the order the splitter assigned
    the rows (scaffold splits: scaffold set by scaffold set, as the reference does; ``random_split``: the
    shuffled order); ``stratified_split`` returns each part sorted.

    Shapes:
        - train: (n_train,)
        - valid: (n_valid,)
        - test: (n_test,)
    """

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def __post_init__(self) -> None:
        for name in _PARTS:
            raw = np.asarray(getattr(self, name))
            if raw.ndim != 1:
                raise ValueError(f"Split.{name} must be 1-D, got shape {raw.shape}")
            if raw.size and raw.dtype.kind not in "iu":
                raise ValueError(f"Split.{name} must hold integer indices, got dtype {raw.dtype}")
            part = raw.astype(np.int64)  # always a copy, so freezing it cannot touch the caller's array
            if part.size and part.min() < 0:
                raise ValueError(f"Split.{name} holds a negative index {part.min()}")
            part.flags.writeable = False
            object.__setattr__(self, name, part)
        everything = np.concatenate([self.train, self.valid, self.test])
        if np.unique(everything).size != everything.size:
            raise ValueError("Split parts overlap or repeat an index; each row must be in exactly one part")

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.train, self.valid, self.test))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Split):
            return NotImplemented
        return all(np.array_equal(a, b) for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # holds arrays, like a list

    def __repr__(self) -> str:
        return f"Split(train={self.train.size}, valid={self.valid.size}, test={self.test.size})"

    def to_dict(self) -> dict[str, list[int]]:
        """The split as plain lists, for JSON."""
        return {name: getattr(self, name).tolist() for name in _PARTS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[int]]) -> Split:
        """Rebuild a split written by :meth:`to_dict`."""
        missing = [name for name in _PARTS if name not in data]
        if missing:
            raise ValueError(f"split dict lacks {missing}; expected keys {list(_PARTS)}, got {sorted(data)}")
        return cls(*(np.asarray(data[name], dtype=np.int64) for name in _PARTS))


def scaffold_split(
    smiles: Sequence[str],
    frac_train: float = 0.8,
    frac_valid: float = 0.1,
    frac_test: float = 0.1,
    include_chirality: bool = True,
    workers: int = 1,
    sanitize: str = "strict",
) -> Split:
    """Deterministic Bemis-Murcko scaffold split, as in pretrain-gnns (Hu et al., ICLR 2020) and OGB.

    Molecules are grouped by :func:`~molssl.chem.scaffold.murcko_scaffold` (acyclic molecules form one
    group, scaffold ``""``). Groups are ordered by size, largest first, ties broken by the larger first
    row index. Each group in turn goes to train if train would then hold at most ``frac_train * n`` rows,
    else to valid if train and valid together would hold at most ``(frac_train + frac_valid) * n``, else
    to test. Every group is tried against train first, so a small group late in the order can still land
    in train after larger ones went to valid or test. No scaffold is shared between parts.

    Pass only molecules RDKit can parse (featurize first and split the rows that featurized); the
    indices refer to positions in ``smiles``.

    Args:
        smiles: one SMILES string per row.
        frac_train, frac_valid, frac_test: target fractions; non-negative, summing to 1.
        include_chirality: keep stereo marks in the scaffolds (the reference uses True).
        workers: processes computing scaffolds, the costly step (roughly 0.3 ms per molecule). Inputs
            with fewer than 1000 molecules per worker are done in this process.
        sanitize: ``"strict"`` or ``"lenient"``: parse as the featurizer did (``molssl.featurize_many``),
            so molecules kept leniently get their scaffolds too.

    Returns:
        The split; each part lists rows scaffold group by scaffold group in the order above, ascending
        within a group.

    Raises:
        ValueError: for bad fractions or ``workers``, or naming the row, SMILES and reason of the first
            molecule whose scaffold cannot be computed.
    """
    check_fractions(frac_train, frac_valid, frac_test)
    groups = _scaffold_groups(smiles, include_chirality, workers, sanitize)
    ordered = sorted(groups, key=lambda group: (len(group), group[0]), reverse=True)
    n = len(smiles)
    train_cutoff = frac_train * n
    valid_cutoff = (frac_train + frac_valid) * n
    train: list[int] = []
    valid: list[int] = []
    test: list[int] = []
    for group in ordered:
        if len(train) + len(group) <= train_cutoff:
            train.extend(group)
        elif len(train) + len(valid) + len(group) <= valid_cutoff:
            valid.extend(group)
        else:
            test.extend(group)
    return Split(*(np.array(part, dtype=np.int64) for part in (train, valid, test)))


def random_scaffold_split(
    smiles: Sequence[str],
    frac_train: float = 0.8,
    frac_valid: float = 0.1,
    frac_test: float = 0.1,
    seed: int = 0,
    include_chirality: bool = True,
    workers: int = 1,
    sanitize: str = "strict",
) -> Split:
    """Scaffold split with the scaffold groups in seeded random order (pretrain-gnns' random_scaffold_split).

    Groups (in order of first appearance) are permuted by ``np.random.RandomState(seed).permutation``.
    Each group in turn goes to valid if valid then holds at most ``floor(frac_valid * n)`` rows, else to
    test if test then holds at most ``floor(frac_test * n)``, else to train; so train takes whatever
    does not fit (``frac_train`` is only validated) and is usually a little larger than ``frac_train * n``.

    Args:
        smiles: one SMILES string per row; only parsable ones (see :func:`scaffold_split`).
        frac_train, frac_valid, frac_test: target fractions; non-negative, summing to 1.
        seed: seed of the permutation, an integer in ``[0, 2**32)``.
        include_chirality: keep stereo marks in the scaffolds.
        workers: processes computing scaffolds (see :func:`scaffold_split`).
        sanitize: ``"strict"`` or ``"lenient"`` (see :func:`scaffold_split`).

    Returns:
        The split; each part lists rows group by group in the permuted order, ascending within a group.

    Raises:
        ValueError: as :func:`scaffold_split`.
    """
    check_fractions(frac_train, frac_valid, frac_test)
    groups = _scaffold_groups(smiles, include_chirality, workers, sanitize)
    # pretrain-gnns permutes the list of groups itself, which NumPy >= 1.24 refuses for groups of unequal
    # size; permuting their positions draws the same order from the same seed
    order = np.random.RandomState(seed).permutation(len(groups))
    return fill_valid_test_first([groups[position] for position in order], len(smiles), frac_valid, frac_test)


def fill_valid_test_first(groups: Sequence[Sequence[int]], n: int, frac_valid: float, frac_test: float) -> Split:
    """Whole groups, in the given order, to valid while it holds at most ``floor(frac_valid * n)`` rows, else to
    test up to ``floor(frac_test * n)``, else to train: pretrain-gnns' random_scaffold_split fill rule."""
    valid_capacity = math.floor(frac_valid * n)
    test_capacity = math.floor(frac_test * n)
    train: list[int] = []
    valid: list[int] = []
    test: list[int] = []
    for group in groups:
        if len(valid) + len(group) <= valid_capacity:
            valid.extend(group)
        elif len(test) + len(group) <= test_capacity:
            test.extend(group)
        else:
            train.extend(group)
    return Split(*(np.array(part, dtype=np.int64) for part in (train, valid, test)))


def random_split(
    n_or_sequence: int | Sized,
    frac_train: float = 0.8,
    frac_valid: float = 0.1,
    frac_test: float = 0.1,
    seed: int = 0,
) -> Split:
    """Uniformly random split, drawn exactly as pretrain-gnns' random_split.

    Rows ``0..n-1`` are shuffled with Python's ``random.Random(seed)``; train takes the first
    ``int(frac_train * n)``, valid the next ``int(frac_valid * n)``, test the rest.

    Args:
        n_or_sequence: the number of rows, or anything with a length (a list of SMILES, a dataset).
        frac_train, frac_valid, frac_test: target fractions; non-negative, summing to 1.
        seed: seed of the shuffle.

    Returns:
        The split; each part in shuffled order.

    Raises:
        ValueError: for bad fractions or a negative count.
    """
    check_fractions(frac_train, frac_valid, frac_test)
    n = row_count(n_or_sequence)
    rows = list(range(n))
    random.Random(seed).shuffle(rows)
    n_train = int(frac_train * n)
    n_valid = int(frac_valid * n)
    shuffled = np.array(rows, dtype=np.int64)
    return Split(shuffled[:n_train], shuffled[n_train:n_train + n_valid], shuffled[n_train + n_valid:])


def stratified_split(
    labels: Sequence[Any] | np.ndarray,
    frac_train: float = 0.8,
    frac_valid: float = 0.1,
    frac_test: float = 0.1,
    seed: int = 0,
) -> Split:
    """Random split that keeps each class's share the same in every part.

    For every class ``c`` with ``n_c`` rows and every part with fraction ``f``, the part holds
    ``floor(f * n_c)`` or ``ceil(f * n_c)`` rows of ``c``, and ``floor(f * n)`` or ``ceil(f * n)`` rows in
    all. Which rows of a class go where is drawn with ``np.random.default_rng(seed)``.

    Args:
        labels: one class label per row (any sortable values: ints, strings, 0./1. floats). For
            multi-task data pass one task's column for the rows labelled in it.
        frac_train, frac_valid, frac_test: target fractions; non-negative, summing to 1.
        seed: seed of the draw.

    Returns:
        The split; each part sorted ascending.

    Shapes:
        - labels: (n,)

    Raises:
        ValueError: for bad fractions, labels that are not 1-D, or missing (NaN/None) labels.
    """
    check_fractions(frac_train, frac_valid, frac_test)
    values = np.asarray(labels)
    if values.ndim != 1:
        raise ValueError(
            f"stratified_split needs 1-D class labels, got shape {values.shape}; "
            "for multi-task labels pass one column, e.g. y[:, task]"
        )
    missing = np.flatnonzero(_missing_mask(values))
    if missing.size:
        raise ValueError(
            f"labels hold {missing.size} missing (NaN/None) values, first at rows {missing[:5].tolist()}; "
            "drop the unlabelled rows before a stratified split"
        )
    _, class_of_row = np.unique(values, return_inverse=True)
    class_of_row = class_of_row.reshape(-1)
    members = [np.flatnonzero(class_of_row == c) for c in range(int(class_of_row.max(initial=-1)) + 1)]
    counts = _stratum_counts((frac_train, frac_valid, frac_test), [len(m) for m in members])
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for rows, per_part in zip(members, counts):
        rows = rng.permutation(rows)
        bounds = np.cumsum(per_part)[:-1]
        for part, chosen in zip(parts, np.split(rows, bounds)):
            part.append(chosen)
    return Split(*(np.sort(np.concatenate(part)) if part else np.empty(0, np.int64) for part in parts))


def check_fractions(frac_train: float, frac_valid: float, frac_test: float) -> None:
    """Raise ValueError unless the three fractions are finite, non-negative and sum to 1."""
    fractions = {"frac_train": frac_train, "frac_valid": frac_valid, "frac_test": frac_test}
    for name, value in fractions.items():
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    total = frac_train + frac_valid + frac_test
    if abs(total - 1.0) > 1e-6:
        raise ValueError(
            f"split fractions must sum to 1, got frac_train={frac_train} + frac_valid={frac_valid} "
            f"+ frac_test={frac_test} = {total:.6g}"
        )


def row_count(n_or_sequence: int | Sized) -> int:
    if isinstance(n_or_sequence, numbers.Integral) and not isinstance(n_or_sequence, bool):
        n = int(n_or_sequence)
        if n < 0:
            raise ValueError(f"number of rows must be >= 0, got {n}")
        return n
    if isinstance(n_or_sequence, Sized):
        return len(n_or_sequence)
    raise ValueError(f"expected a row count or a sized collection, got {type(n_or_sequence).__name__}")


def row_scaffolds(smiles: Sequence[str], include_chirality: bool = True, workers: int = 1, sanitize: str = "strict") -> list[str]:
    """The Murcko scaffold of every row (``""`` for acyclic molecules), computed by ``workers`` processes.

    Raises:
        ValueError: naming the row, SMILES and reason of the first molecule whose scaffold cannot be computed.
    """
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    results = _scaffolds_or_errors(list(smiles), include_chirality, int(workers), sanitize)
    failures = [(row, error) for row, (_, error) in enumerate(results) if error is not None]
    if failures:
        row, error = failures[0]
        more = f" ({len(failures) - 1} more rows fail too)" if len(failures) > 1 else ""
        raise ValueError(
            f"row {row}: {error}{more}; scaffold splits need parsable molecules: "
            "featurize first and split the rows that featurized"
        )
    return [scaffold for scaffold, _ in results]


def group_rows(keys: Sequence[Any]) -> list[list[int]]:
    """Row indices grouped by equal key, groups in order of first appearance, rows ascending."""
    groups: dict[Any, list[int]] = {}
    for row, key in enumerate(keys):
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def _scaffold_groups(smiles: Sequence[str], include_chirality: bool, workers: int, sanitize: str = "strict") -> list[list[int]]:
    """Row indices grouped by scaffold, groups in order of first appearance, rows ascending."""
    return group_rows(row_scaffolds(smiles, include_chirality, workers, sanitize))


def _scaffolds_or_errors(
    smiles: list[str], include_chirality: bool, workers: int, sanitize: str = "strict"
) -> list[tuple[str, str | None]]:
    workers = min(workers, len(smiles) // _MIN_PER_WORKER)
    if workers <= 1:
        return _scaffold_chunk(smiles, include_chirality, sanitize)
    chunk_size = math.ceil(len(smiles) / (4 * workers))
    chunks = [smiles[start:start + chunk_size] for start in range(0, len(smiles), chunk_size)]
    with multiprocessing.get_context().Pool(workers) as pool:
        done = pool.map(partial(_scaffold_chunk, include_chirality=include_chirality, sanitize=sanitize), chunks)
    return [result for chunk in done for result in chunk]


def _scaffold_chunk(smiles: list[str], include_chirality: bool, sanitize: str = "strict") -> list[tuple[str, str | None]]:
    """``(scaffold, None)`` per molecule, or ``("", error message)`` where it fails."""
    from molssl.chem.scaffold import murcko_scaffold  # RDKit, needed by scaffold splits only (not stratified ones)

    results: list[tuple[str, str | None]] = []
    for one in smiles:
        try:
            results.append((murcko_scaffold(one, include_chirality, sanitize=sanitize), None))
        except ValueError as error:
            results.append(("", str(error)))
    return results


def _missing_mask(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in values], dtype=bool)
    return np.zeros(values.shape, dtype=bool)


def _stratum_counts(fractions: tuple[float, float, float], class_sizes: list[int]) -> list[list[int]]:
    """Per class, how many rows go to each part: a controlled rounding of ``fraction * class size``.

    Each entry is the floor or ceiling of its exact share, each class's entries add up to its size, and
    each part's total is the floor or ceiling of ``fraction * n``. The fractional remainders, plus one
    dummy row that tops every part's column up to an integer, form a table whose row and column sums
    are integers; moving mass around cycles of fractional cells (which keeps all those sums) until no
    cell is fractional rounds every cell to 0 or 1 without breaking a sum.
    """
    # the decimal the caller wrote (0.1, not its binary neighbour), normalized to sum to exactly 1
    shares = [Fraction(repr(float(f))) for f in fractions]
    total = sum(shares)
    shares = [s / total for s in shares]
    n_parts = len(shares)
    exact = [[share * size for share in shares] for size in class_sizes]
    base = [[math.floor(x) for x in row] for row in exact]
    table = [[x - b for x, b in zip(row, row_base)] for row, row_base in zip(exact, base)]
    column_sums = [sum((row[j] for row in table), Fraction(0)) for j in range(n_parts)]
    table.append([math.ceil(s) - s for s in column_sums])
    _round_by_cycles(table)
    return [[b + int(x) for b, x in zip(row_base, row)] for row_base, row in zip(base, table[:-1])]


def _round_by_cycles(table: list[list[Fraction]]) -> None:
    """Round a table with integer row and column sums to 0/1 cells in place, keeping every sum."""
    n_rows, n_cols = len(table), len(table[0]) if table else 0

    def fractional(i: int, j: int) -> bool:
        return 0 < table[i][j] < 1

    while True:
        start = next(((i, j) for i in range(n_rows) for j in range(n_cols) if fractional(i, j)), None)
        if start is None:
            return
        # walk row -> column -> row ... along fractional cells; integer sums guarantee each node on the
        # walk has a second fractional cell to leave by, so the walk closes a cycle
        path: list[tuple[str, int]] = [("row", start[0])]
        seen = {path[0]: 0}
        came_by: tuple[int, int] | None = None
        while True:
            kind, k = path[-1]
            if kind == "row":
                cells = [(k, j) for j in range(n_cols) if fractional(k, j)]
            else:
                cells = [(i, k) for i in range(n_rows) if fractional(i, k)]
            cell = next(c for c in cells if c != came_by)
            node = ("col", cell[1]) if kind == "row" else ("row", cell[0])
            came_by = cell
            if node in seen:
                cycle_nodes = path[seen[node]:] + [node]
                break
            seen[node] = len(path)
            path.append(node)
        cycle = [
            (a[1], b[1]) if a[0] == "row" else (b[1], a[1]) for a, b in zip(cycle_nodes, cycle_nodes[1:])
        ]
        up, down = cycle[0::2], cycle[1::2]
        step = min([1 - table[i][j] for i, j in up] + [table[i][j] for i, j in down])
        for i, j in up:
            table[i][j] += step
        for i, j in down:
            table[i][j] -= step
