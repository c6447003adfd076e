"""Out-of-distribution splits: each guarantee checked on real MoleculeNet molecules against RDKit directly."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold
from rdkit.ML.Cluster import Butina

from molssl.data.splits import Split, scaffold_split
from molssl.data.splits_ood import (
    low_data_draws,
    low_data_split,
    ordered_split,
    property_range_split,
    scaffold_cluster_split,
    scaffold_clusters,
    size_split,
)
from molssl.data.splits_registry import get_splitter

MOLECULENET = Path(__file__).resolve().parents[2] / "datasets" / "moleculenet"


def read_parsable(name: str, smiles_column: str, label_column: str, limit: int) -> tuple[list[str], np.ndarray]:
    with open(MOLECULENET / f"{name}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with rdBase.BlockLogs():
        kept = [row for row in rows if Chem.MolFromSmiles(row[smiles_column]) is not None][:limit]
    return [row[smiles_column] for row in kept], np.array([float(row[label_column]) for row in kept])


@pytest.fixture(scope="module")
def bbbp() -> tuple[list[str], np.ndarray]:
    return read_parsable("bbbp", "smiles", "p_np", 400)


@pytest.fixture(scope="module")
def esol() -> tuple[list[str], np.ndarray]:
    return read_parsable("esol", "smiles", "logp", 400)


def covers_all_rows(split: Split, n: int) -> bool:
    return sorted(np.concatenate(list(split)).tolist()) == list(range(n))


def test_ordered_split_keeps_ties_together_and_orders_parts() -> None:
    values = np.array([5, 1, 1, 2, 9, 9, 9, 3, 4, 4])
    train, valid, test = ordered_split(values, 0.6, 0.2, 0.2)
    assert covers_all_rows(Split(train, valid, test), 10)
    assert values[train].max() < values[valid].min() <= values[valid].max() < values[test].min()
    assert sorted(values[test].tolist()) == [9, 9, 9]  # the tie of three 9s is never cut
    with pytest.raises(ValueError, match=r"first at rows \[2\]"):
        ordered_split(np.array([1.0, 2.0, np.nan]), 0.8, 0.1, 0.1)


@pytest.mark.parametrize("largest_in_test", [True, False])
def test_size_split_orders_parts_by_heavy_atoms(bbbp, largest_in_test) -> None:
    smiles = bbbp[0]
    split = size_split(smiles, largest_in_test=largest_in_test)
    with rdBase.BlockLogs():
        atoms = np.array([Chem.MolFromSmiles(s).GetNumHeavyAtoms() for s in smiles])
    assert covers_all_rows(split, len(smiles))
    sign = 1 if largest_in_test else -1
    train, valid, test = (sign * atoms[part] for part in split)
    assert train.max() < valid.min() and valid.max() < test.min()
    assert abs(split.train.size - 0.8 * len(smiles)) < 0.08 * len(smiles)  # sizes near the fractions
    with pytest.raises(ValueError, match=r"row 1: SMILES 'C1CC'"):
        size_split(["CCO", "C1CC"])


def test_property_range_split_tests_on_the_label_tail(esol) -> None:
    smiles, y = esol
    upper = property_range_split(y)
    assert covers_all_rows(upper, len(y))
    assert y[upper.train].max() < y[upper.valid].min() and y[upper.valid].max() < y[upper.test].min()
    lower = get_splitter("property_range")(smiles, y[:, None], tail="lower")
    assert y[lower.test].max() < y[lower.valid].min() and y[lower.valid].max() < y[lower.train].min()
    with pytest.raises(ValueError, match="missing|no finite value"):
        property_range_split(np.where(np.arange(len(y)) == 7, np.nan, y))
    with pytest.raises(ValueError, match="labels have 3 rows for 400 molecules"):
        get_splitter("property_range")(smiles, y[:3])


def reference_scaffolds(smiles: list[str]) -> list[str]:
    with rdBase.BlockLogs():
        return [MurckoScaffold.MurckoScaffoldSmiles(smiles=s, includeChirality=True) for s in smiles]


def fingerprints(scaffolds: list[str]) -> list:
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in scaffolds]


def test_butina_clusters_equal_rdkit_butina(bbbp) -> None:
    distinct = [s for s in dict.fromkeys(reference_scaffolds(bbbp[0])) if s]
    fps = fingerprints(distinct)
    distances = [1 - x for i in range(1, len(fps)) for x in DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])]
    expected = Butina.ClusterData(distances, len(fps), 1 - 0.6 + 1e-9, isDistData=True, reordering=False)
    ours = scaffold_clusters(distinct, threshold=0.6)
    as_sets = {frozenset(np.flatnonzero(ours == c).tolist()) for c in np.unique(ours)}
    assert as_sets == {frozenset(cluster) for cluster in expected}
    assert len(as_sets) < len(distinct)  # some scaffolds really were merged


@pytest.mark.parametrize("linkage", ["butina", "single"])
def test_scaffold_cluster_split_shares_no_cluster(bbbp, linkage) -> None:
    smiles = bbbp[0]
    split = scaffold_cluster_split(smiles, seed=3, threshold=0.5, linkage=linkage)
    assert covers_all_rows(split, len(smiles))
    assert split.valid.size <= 0.1 * len(smiles) and split.test.size <= 0.1 * len(smiles) and split.test.size > 0
    scaffolds = np.array(reference_scaffolds(smiles), dtype=object)
    part_scaffolds = [set(scaffolds[part].tolist()) for part in split]
    assert not (part_scaffolds[0] & part_scaffolds[1] or part_scaffolds[0] & part_scaffolds[2] or part_scaffolds[1] & part_scaffolds[2])
    if linkage == "single":  # no train scaffold is 0.5-similar to a test scaffold
        train_fps = fingerprints([s for s in part_scaffolds[0] if s])
        for fp in fingerprints([s for s in part_scaffolds[2] if s]):
            assert max(DataStructs.BulkTanimotoSimilarity(fp, train_fps)) < 0.5
    assert scaffold_cluster_split(smiles, seed=3, threshold=0.5, linkage=linkage) == split
    assert scaffold_cluster_split(smiles, seed=4, threshold=0.5, linkage=linkage) != split


def test_low_data_split_draws_k_per_task_from_train(bbbp) -> None:
    smiles, y = bbbp
    base = scaffold_split(smiles)
    for k in (16, 64):
        draw = low_data_split(base, y, k, seed=0)
        assert draw.train.size == k and set(draw.train.tolist()) <= set(base.train.tolist())
        assert np.array_equal(draw.valid, base.valid) and np.array_equal(draw.test, base.test)
        assert set(y[draw.train].tolist()) == {0.0, 1.0}  # both classes drawn
        share = y[base.train].mean()
        assert abs(y[draw.train].mean() - share) <= 1.5 / k + 1e-9  # proportional within rounding
    draws = list(low_data_draws(base, y, ks=(16,), draws=3))
    assert [(k, d) for k, d, _ in draws] == [(16, 0), (16, 1), (16, 2)]
    assert draws[0][2] != draws[1][2]
    assert low_data_split(base, y, 10_000).train.tolist() == sorted(base.train.tolist())  # k beyond the data: all


def test_low_data_multitask_and_regression() -> None:
    y = np.array([[1, np.nan], [0, 1], [1, 0], [0, np.nan], [np.nan, 1], [1, 0], [0, 1], [1, 1]], dtype=float)
    base = Split(np.arange(8), np.array([], np.int64), np.array([], np.int64))
    draw = low_data_split(base, y, 2, seed=1)
    for task in range(2):  # every task has at least k labelled rows, both classes
        labelled = y[draw.train, task][~np.isnan(y[draw.train, task])]
        assert labelled.size >= 2 and set(labelled.tolist()) == {0.0, 1.0}
    regression = low_data_split(base, np.linspace(-2, 3, 8), 3, seed=0)
    assert regression.train.size == 3
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        low_data_split(base, y, 0)
