"""Out-of-distribution splits: molecular size, scaffold clusters, label range, and the low-data protocol.

The scaffold split already keeps test scaffolds out of training; these go further, in the directions the OOD
benchmarks for molecules probe: GOOD (Gui et al., NeurIPS 2022 Datasets and Benchmarks) shifts by size and
scaffold, DrugOOD (Ji et al., 2022) by scaffold and assay domains held out whole, and Sun et al. ("Does GNN
pretraining help molecular representation?", NeurIPS 2022) show that pretraining gains shrink or vanish under
such shifts and with few labels. Every splitter returns the same :class:`~molssl.data.splits.Split` record,
with its guarantee stated in its docstring and checked in ``tests/data/test_splits_ood.py``.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np

from molssl.data.splits import Split, check_fractions, fill_valid_test_first, group_rows, row_scaffolds

#: the few-shot sizes of the low-data protocol (labelled training molecules per task)
LOW_DATA_KS: tuple[int, ...] = (16, 64, 256)


def ordered_split(values: np.ndarray, frac_train: float, frac_valid: float, frac_test: float) -> Split:
    """Split rows by ascending ``values``: the lowest values train, the middle valid, the highest test.

    Rows with equal values stay in one part, so the parts are strictly ordered: every train value is below
    every valid value, which is below every test value. Each run of equal values goes to the part in which
    the midpoint of its position in the sorted order falls, so part sizes are as close to the fractions as
    those runs allow.

    Shapes:
        - values: (n,)

    Returns:
        The split; rows ascending within each part.
    """
    check_fractions(frac_train, frac_valid, frac_test)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"ordered_split needs one value per row (1-D), got shape {values.shape}")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"{bad.size} rows have no finite value (NaN or inf), first at rows {bad[:5].tolist()}; "
                         "drop them before an ordered split")
    n = values.size
    distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    end = np.cumsum(counts)
    middle = (end - counts / 2) / max(n, 1)  # the fraction of rows below each run's midpoint
    part_of_value = np.where(middle <= frac_train, 0, np.where(middle <= frac_train + frac_valid, 1, 2))
    part_of_row = part_of_value[inverse.reshape(-1)]
    return Split(*(np.flatnonzero(part_of_row == p) for p in range(3)))


def size_split(
    smiles: Sequence[str],
    frac_train: float = 0.8,
    frac_valid: float = 0.1,
    frac_test: float = 0.1,
    largest_in_test: bool = True,
    sanitize: str = "strict",
) -> Split:
    """Size split: train on small molecules, test on large ones (GOOD's size domain, Gui et al. 2022).

    Size is the number of heavy atoms. Guarantee: every train molecule has fewer heavy atoms than every
    valid molecule, which has fewer than every test molecule (reversed with ``largest_in_test=False``);
    molecules of one size never straddle two parts (:func:`ordered_split`).

    Raises:
        ValueError: naming the row, SMILES and reason of the first molecule that cannot be parsed.
    """
    sizes = heavy_atom_counts(smiles, sanitize)
    return ordered_split(sizes if largest_in_test else -sizes, frac_train, frac_valid, frac_test)


def heavy_atom_counts(smiles: Sequence[str], sanitize: str = "strict") -> np.ndarray:
    """Heavy atoms of each molecule, parsed as the featurizer parses it. Shapes: (n,) int64."""
    from molssl.chem.errors import FeaturizationError
    from molssl.chem.parse import ParseOptions, parse_smiles

    options = ParseOptions(sanitize=sanitize, max_atoms=None, max_smiles_length=None)  # type: ignore[arg-type]
    counts = np.empty(len(smiles), dtype=np.int64)
    for row, text in enumerate(smiles):
        try:
            counts[row] = parse_smiles(text, options).GetNumHeavyAtoms()
        except FeaturizationError as error:
            raise ValueError(f"row {row}: SMILES {text!r}: {error.reason}; size splits need parsable molecules") from None
    return counts


def property_range_split(
    labels: np.ndarray,
    frac_train: float = 0.8,
    frac_valid: float = 0.1,
    frac_test: float = 0.1,
    task: int = 0,
    tail: str = "upper",
) -> Split:
    """Label-range split for regression: test on the tail of the label distribution.

    Guarantee (``tail="upper"``): every test label is above every valid label, which is above every train
    label, in column ``task``; ``tail="lower"`` tests on the lowest labels instead. Equal labels stay in one
    part (:func:`ordered_split`). A model must extrapolate, which the random and scaffold splits never ask.

    Shapes:
        - labels: (n,) or (n, num_tasks)

    Raises:
        ValueError: for a missing label in the chosen column, an unknown ``tail`` or a bad ``task``.
    """
    values = np.asarray(labels, dtype=np.float64)
    if values.ndim == 2:
        if not 0 <= task < values.shape[1]:
            raise ValueError(f"task {task} is out of range for labels with {values.shape[1]} columns")
        values = values[:, task]
    if tail not in ("upper", "lower"):
        raise ValueError(f"tail must be 'upper' or 'lower', got {tail!r}")
    return ordered_split(values if tail == "upper" else -values, frac_train, frac_valid, frac_test)


def scaffold_clusters(
    scaffolds: Sequence[str], threshold: float = 0.6, linkage: str = "butina", radius: int = 2, n_bits: int = 2048
) -> np.ndarray:
    """Cluster id of each distinct scaffold, clustering Morgan fingerprints by Tanimoto similarity.

    ``linkage="butina"``: Taylor-Butina clustering (each cluster is a centroid and every unassigned scaffold
    at least ``threshold`` similar to it). ``linkage="single"``: connected components of the graph joining
    scaffolds at least ``threshold`` similar, so scaffolds in different clusters are always less similar
    than ``threshold``. The empty scaffold (acyclic molecules) is a cluster of its own.

    Args:
        scaffolds: distinct scaffold SMILES.

    Returns:
        int64 cluster ids, one per scaffold, numbered 0.. in order of first appearance.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if linkage not in ("butina", "single"):
        raise ValueError(f"linkage must be 'butina' or 'single', got {linkage!r}")
    from rdkit import DataStructs

    fingerprints = _scaffold_fingerprints(scaffolds, radius, n_bits)
    m = len(scaffolds)
    neighbours: list[list[int]] = [[] for _ in range(m)]
    ringed = [i for i in range(m) if fingerprints[i] is not None]
    for position, i in enumerate(ringed[:-1]):
        others = ringed[position + 1:]
        similarity = np.asarray(DataStructs.BulkTanimotoSimilarity(fingerprints[i], [fingerprints[j] for j in others]))
        for j in np.asarray(others)[similarity >= threshold].tolist():
            neighbours[i].append(j)
            neighbours[j].append(i)
    raw = _single_linkage(neighbours) if linkage == "single" else _butina(neighbours)
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # renumber clusters by first appearance
    return order[inverse.reshape(-1)].astype(np.int64)


def scaffold_cluster_split(
    smiles: Sequence[str],
    frac_train: float = 0.8,
    frac_valid: float = 0.1,
    frac_test: float = 0.1,
    seed: int = 0,
    threshold: float = 0.6,
    linkage: str = "butina",
    workers: int = 1,
    sanitize: str = "strict",
) -> Split:
    """Scaffold-cluster split: similar scaffolds are clustered and whole clusters held out (DrugOOD-style).

    Murcko scaffolds (with chirality, as :func:`~molssl.data.splits.scaffold_split`) are clustered by
    :func:`scaffold_clusters`; clusters in seeded random order fill valid up to ``floor(frac_valid * n)``
    rows, then test up to ``floor(frac_test * n)``, and the rest go to train (the fill rule of
    ``random_scaffold_split``). Guarantee: no cluster, hence no scaffold, is shared between parts; with
    ``linkage="single"`` no train scaffold is ``threshold``-similar to a test scaffold.

    Raises:
        ValueError: for bad fractions or options, or naming the first molecule whose scaffold fails.
    """
    check_fractions(frac_train, frac_valid, frac_test)
    scaffolds = row_scaffolds(smiles, True, workers, sanitize)
    distinct = list(dict.fromkeys(scaffolds))
    cluster_of_scaffold = dict(zip(distinct, scaffold_clusters(distinct, threshold, linkage).tolist()))
    groups = group_rows([cluster_of_scaffold[s] for s in scaffolds])
    order = np.random.RandomState(seed).permutation(len(groups))
    split = fill_valid_test_first([groups[position] for position in order], len(smiles), frac_valid, frac_test)
    return Split(*(np.sort(part) for part in split))


def low_data_split(base: Split, labels: np.ndarray, k: int, seed: int = 0, classification: bool | None = None) -> Split:
    """Few-shot training set: ``k`` labelled molecules per task drawn from ``base.train`` (Sun et al. 2022).

    Valid and test are ``base``'s, unchanged, so scores across ``k`` and draws compare on one test set. For
    each task, ``min(k, labelled train rows)`` rows labelled in it are drawn with
    ``np.random.default_rng(seed)``; for classification, each class present gets its proportional share,
    at least one row (when ``k`` allows). The train part is the union over tasks, so in multi-task data a
    task can end up with more than ``k`` labelled rows (drawn for another task), never fewer.

    Args:
        base: the split whose train part is subsampled (normally a scaffold split).
        labels: (n,) or (n, num_tasks) labels; NaN = unlabelled.
        k: labelled molecules per task, >= 1.
        seed: the draw; repeated draws use seeds 0, 1, ...
        classification: treat labels as classes; by default when every finite label is 0 or 1.

    Returns:
        The split; train rows ascending.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    y = np.asarray(labels, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    if y.ndim != 2:
        raise ValueError(f"labels must be (n,) or (n, num_tasks), got shape {np.asarray(labels).shape}")
    if classification is None:
        finite = y[np.isfinite(y)]
        classification = bool(finite.size) and bool(np.isin(finite, (0.0, 1.0)).all())
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    for task in range(y.shape[1]):
        rows = base.train[np.isfinite(y[base.train, task])]
        if not classification:
            chosen.update(rng.choice(rows, size=min(k, rows.size), replace=False).tolist())
            continue
        values = y[rows, task]
        classes = np.unique(values)
        for cls, share in zip(classes, _class_shares([int((values == c).sum()) for c in classes], min(k, rows.size))):
            members = rows[values == cls]
            chosen.update(rng.choice(members, size=share, replace=False).tolist())
    return Split(np.array(sorted(chosen), dtype=np.int64), base.valid, base.test)


def low_data_draws(
    base: Split, labels: np.ndarray, ks: Sequence[int] = LOW_DATA_KS, draws: int = 5
) -> Iterator[tuple[int, int, Split]]:
    """The low-data protocol: ``(k, draw, split)`` for every ``k`` in ``ks`` and ``draw`` in ``range(draws)``."""
    for k in ks:
        for draw in range(draws):
            yield k, draw, low_data_split(base, labels, k, seed=draw)


def _class_shares(class_sizes: list[int], k: int) -> list[int]:
    """Split ``k`` draws over classes in proportion to their sizes, at least one each while ``k`` allows."""
    total = sum(class_sizes)
    shares = [min(size, max(1, math.floor(k * size / total))) if k >= len(class_sizes) else 0 for size in class_sizes]
    if k < len(class_sizes):  # fewer draws than classes: the largest classes get one each
        for c in np.argsort(class_sizes)[::-1][:k]:
            shares[c] = 1
    while sum(shares) < k:  # hand out the remainder to the classes with the most rows left
        c = int(np.argmax([size - share for size, share in zip(class_sizes, shares)]))
        shares[c] += 1
    while sum(shares) > k:
        c = int(np.argmax(shares))
        shares[c] -= 1
    return shares


def _scaffold_fingerprints(scaffolds: Sequence[str], radius: int, n_bits: int) -> list:
    from rdkit import Chem, rdBase
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    fingerprints = []
    with rdBase.BlockLogs():
        for scaffold in scaffolds:
            mol = Chem.MolFromSmiles(scaffold) if scaffold else None
            if mol is None and scaffold:  # a leniently kept molecule's scaffold can fail the valence check
                mol = Chem.MolFromSmiles(scaffold, sanitize=False)
                mol.UpdatePropertyCache(strict=False)
                Chem.GetSymmSSSR(mol)
            fingerprints.append(generator.GetFingerprint(mol) if mol is not None else None)
    return fingerprints


def _single_linkage(neighbours: list[list[int]]) -> np.ndarray:
    label = np.full(len(neighbours), -1, dtype=np.int64)
    for start in range(len(neighbours)):
        if label[start] >= 0:
            continue
        label[start] = start
        stack = [start]
        while stack:
            for j in neighbours[stack.pop()]:
                if label[j] < 0:
                    label[j] = start
                    stack.append(j)
    return label


def _butina(neighbours: list[list[int]]) -> np.ndarray:
    """Taylor-Butina: repeatedly take the unassigned scaffold with the most unassigned neighbours as a centroid."""
    label = np.full(len(neighbours), -1, dtype=np.int64)
    # most neighbours first, ties to the higher index: the order of RDKit's Butina.ClusterData
    order = sorted(range(len(neighbours)), key=lambda i: (len(neighbours[i]), i), reverse=True)
    for centroid in order:
        if label[centroid] >= 0:
            continue
        label[centroid] = centroid
        for j in neighbours[centroid]:
            if label[j] < 0:
                label[j] = centroid
    return label
