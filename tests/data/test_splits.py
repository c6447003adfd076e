"""Splits: the reference scaffold protocol on real molecules, hand-built cases, and the Split record."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

from molssl.data import splits
from molssl.data.splits_registry import SPLITTERS, get_splitter
from molssl.data.splits import (
    Split,
    random_scaffold_split,
    random_split,
    scaffold_split,
    stratified_split,
)

MOLECULENET = Path(__file__).resolve().parents[2] / "datasets" / "moleculenet"


def read_parsable(name: str, smiles_column: str, label_column: str) -> tuple[list[str], list[int]]:
    """SMILES and labels of a MoleculeNet file, keeping only rows RDKit parses.

    Some MoleculeNet SMILES (BBBP's pentavalent nitro groups, for instance) fail RDKit's sanitization
    in some versions; splits take only parsable molecules, so the tests drop them the way a caller would.
    """
    with open(MOLECULENET / f"{name}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with rdBase.BlockLogs():
        kept = [row for row in rows if Chem.MolFromSmiles(row[smiles_column]) is not None]
    return [row[smiles_column] for row in kept], [int(float(row[label_column])) for row in kept]


@pytest.fixture(scope="module")
def bbbp() -> tuple[list[str], list[int]]:
    return read_parsable("bbbp", "smiles", "p_np")


@pytest.fixture(scope="module")
def bbbp_scaffolds(bbbp: tuple[list[str], list[int]]) -> list[str]:
    """Scaffolds from RDKit's call directly, independent of molssl.chem.scaffold."""
    with rdBase.BlockLogs():
        return [MurckoScaffold.MurckoScaffoldSmiles(smiles=s, includeChirality=True) for s in bbbp[0]]


@pytest.fixture(scope="module")
def bbbp_split(bbbp: tuple[list[str], list[int]]) -> Split:
    return scaffold_split(bbbp[0])


@pytest.fixture(scope="module")
def bace_smiles() -> list[str]:
    return read_parsable("bace", "mol", "Class")[0]


@pytest.fixture(scope="module")
def bace_scaffolds(bace_smiles: list[str]) -> list[str]:
    with rdBase.BlockLogs():
        return [MurckoScaffold.MurckoScaffoldSmiles(smiles=s, includeChirality=True) for s in bace_smiles]


Fracs = tuple[float, float, float]


def reference_scaffold_split(scaffolds: list[str], fracs: Fracs) -> tuple[list, list, list]:
    """A plain re-statement of pretrain-gnns' scaffold_split ordering and fill rule."""
    groups: dict[str, list[int]] = {}
    for i, scaffold in enumerate(scaffolds):
        groups.setdefault(scaffold, []).append(i)
    ordered = sorted(groups.values(), key=lambda g: (len(g), g[0]), reverse=True)
    n = len(scaffolds)
    train, valid, test = [], [], []
    for group in ordered:
        if len(train) + len(group) > fracs[0] * n:
            if len(train) + len(valid) + len(group) > (fracs[0] + fracs[1]) * n:
                test += group
            else:
                valid += group
        else:
            train += group
    return train, valid, test


def reference_random_scaffold_split(scaffolds: list[str], fracs: Fracs, seed: int) -> tuple[list, list, list]:
    """pretrain-gnns' random_scaffold_split; its permutation of the list of groups, as an object array."""
    groups: dict[str, list[int]] = {}
    for i, scaffold in enumerate(scaffolds):
        groups.setdefault(scaffold, []).append(i)
    sets = np.empty(len(groups), dtype=object)
    sets[:] = list(groups.values())
    n = len(scaffolds)
    n_valid, n_test = int(np.floor(fracs[1] * n)), int(np.floor(fracs[2] * n))
    train, valid, test = [], [], []
    for group in np.random.RandomState(seed).permutation(sets):
        if len(valid) + len(group) <= n_valid:
            valid += group
        elif len(test) + len(group) <= n_test:
            test += group
        else:
            train += group
    return train, valid, test


def assert_partition(split: Split, n: int) -> None:
    parts = [split.train, split.valid, split.test]
    assert all(p.dtype == np.int64 for p in parts)
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(n))


def assert_scaffolds_disjoint(split: Split, scaffolds: list[str]) -> None:
    sets = [{scaffolds[i] for i in part} for part in split]
    assert not sets[0] & sets[1] and not sets[0] & sets[2] and not sets[1] & sets[2]


# --- scaffold_split -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("fracs", "n"), [((0.8, 0.1, 0.1), None), ((0.6, 0.2, 0.2), 1000)])
def test_scaffold_split_equals_reference_on_bbbp(bbbp, bbbp_scaffolds, bbbp_split, fracs, n) -> None:
    smiles, scaffolds = bbbp[0][:n], bbbp_scaffolds[:n]  # all of BBBP, or a prefix to keep the suite fast
    split = bbbp_split if n is None else scaffold_split(smiles, *fracs)
    expected = reference_scaffold_split(scaffolds, fracs)
    for part, want in zip(split, expected):
        assert part.tolist() == want  # same rows in the same order
    assert_partition(split, len(smiles))
    assert_scaffolds_disjoint(split, scaffolds)


def assert_sizes_follow_fractions(split: Split, n: int) -> None:
    train, valid, test = split
    assert len(train) <= 0.8 * n and len(train) + len(valid) <= 0.9 * n
    for part, frac in zip((train, valid, test), (0.8, 0.1, 0.1)):
        assert abs(len(part) - frac * n) <= 0.01 * n


def test_scaffold_split_sizes_follow_fractions(bbbp, bbbp_split) -> None:
    assert_sizes_follow_fractions(bbbp_split, len(bbbp[0]))


def test_scaffold_split_on_bace(bace_smiles, bace_scaffolds) -> None:
    first = scaffold_split(bace_smiles)
    assert_sizes_follow_fractions(first, len(bace_smiles))
    assert [p.tolist() for p in first] == list(reference_scaffold_split(bace_scaffolds, (0.8, 0.1, 0.1)))
    assert_scaffolds_disjoint(first, bace_scaffolds)
    assert_partition(first, len(bace_smiles))


def test_scaffold_split_is_deterministic(bbbp) -> None:
    smiles = bbbp[0][:300]
    assert scaffold_split(smiles) == scaffold_split(list(smiles))
    assert scaffold_split(smiles, 0.7, 0.2, 0.1) != scaffold_split(smiles)


def test_workers_give_the_same_split(bbbp, monkeypatch) -> None:
    smiles = bbbp[0][:300]
    monkeypatch.setattr(splits, "_MIN_PER_WORKER", 50)  # so that 300 molecules do start worker processes
    context = splits.multiprocessing.get_context()
    real_pool = context.Pool
    started: list[int] = []

    def spying_pool(processes: int):
        started.append(processes)
        return real_pool(processes)

    monkeypatch.setattr(context, "Pool", spying_pool)
    assert scaffold_split(smiles, workers=3) == scaffold_split(smiles, workers=1)
    assert started == [3]
    with pytest.raises(ValueError, match=r"row 250: .*'C1CC'"):  # rows keep their numbers across chunks
        scaffold_split(smiles[:250] + ["C1CC"] + smiles[250:], workers=3)


# rows 0, 2, 5: benzene core (3); rows 1, 4: pyridine core (2); row 3: cyclohexane core (1)
SIZES_3_2_1 = ["Cc1ccccc1", "Cc1ccccn1", "Oc1ccccc1", "CC1CCCCC1", "Nc1ccccn1", "CCc1ccccc1"]


@pytest.mark.parametrize(
    ("fracs", "expected"),
    [
        # cutoffs 3 and 4.5: the pair overflows valid and goes to test, then the single fits valid
        ((0.5, 0.25, 0.25), ([0, 2, 5], [3], [1, 4])),
        # cutoffs 4.2 and 5.4: the pair goes to valid, then the single still fits train
        ((0.7, 0.2, 0.1), ([0, 2, 5, 3], [1, 4], [])),
        ((1.0, 0.0, 0.0), ([0, 2, 5, 1, 4, 3], [], [])),
    ],
)
def test_fill_rule_on_three_scaffolds(fracs, expected) -> None:
    split = scaffold_split(SIZES_3_2_1, *fracs)
    assert [part.tolist() for part in split] == [list(e) for e in expected]


def test_equal_sized_sets_go_larger_first_index_first() -> None:
    # benzene core at rows 0 and 3, cyclohexane core at rows 1 and 2, pyridine at row 4
    smiles = ["Oc1ccccc1", "CC1CCCCC1", "OC1CCCCC1", "Nc1ccccc1", "Cc1ccncc1"]
    train, valid, test = scaffold_split(smiles, 0.4, 0.4, 0.2)
    assert (train.tolist(), valid.tolist(), test.tolist()) == ([1, 2], [0, 3], [4])


def test_acyclic_molecules_share_the_empty_scaffold() -> None:
    train, valid, test = scaffold_split(["CCO", "c1ccccc1C", "CCN", "CCCC"], 0.75, 0.25, 0.0)
    assert (train.tolist(), valid.tolist(), test.tolist()) == ([0, 2, 3], [1], [])


def test_include_chirality_changes_grouping() -> None:
    # cis and trans 1,4-diphenylcyclohexanes: one scaffold without stereo, two with it
    smiles = ["Cc1ccc(cc1)[C@H]1CC[C@@H](c2ccccc2)CC1", "Oc1ccc(cc1)[C@H]1CC[C@H](c2ccccc2)CC1"]
    assert scaffold_split(smiles, 0.5, 0.5, 0.0, include_chirality=False).train.size == 0  # one set of 2
    assert scaffold_split(smiles, 0.5, 0.5, 0.0, include_chirality=True).train.tolist() == [1]


def test_invalid_smiles_names_row_smiles_and_reason() -> None:
    with pytest.raises(ValueError) as info:
        scaffold_split(["CCO", "c1ccccc1", "C1CC", "CN(C)(C)(C)C"])
    message = str(info.value)
    assert "row 2" in message and "'C1CC'" in message and "SMILES syntax error" in message
    assert "1 more" in message and "featurize first" in message


def test_empty_input() -> None:
    assert [p.size for p in scaffold_split([])] == [0, 0, 0]
    assert [p.size for p in random_scaffold_split([])] == [0, 0, 0]


def test_bad_workers() -> None:
    with pytest.raises(ValueError, match="workers"):
        scaffold_split(["CCO"], workers=0)


# --- random_scaffold_split ----------------------------------------------------------------------------

def test_random_scaffold_split_equals_reference(bbbp, bbbp_scaffolds) -> None:
    for seed, fracs, n in [(0, (0.8, 0.1, 0.1), len(bbbp[0])), (7, (0.7, 0.2, 0.1), 800)]:
        smiles, scaffolds = bbbp[0][:n], bbbp_scaffolds[:n]
        split = random_scaffold_split(smiles, *fracs, seed=seed)
        expected = reference_random_scaffold_split(scaffolds, fracs, seed)
        assert [part.tolist() for part in split] == [list(e) for e in expected]
        assert_partition(split, n)
        assert_scaffolds_disjoint(split, scaffolds)
        assert len(split.valid) <= math.floor(fracs[1] * n) and len(split.test) <= math.floor(fracs[2] * n)


def test_random_scaffold_split_seeds(bbbp) -> None:
    smiles = bbbp[0][:300]
    a = random_scaffold_split(smiles, seed=0)
    assert a == random_scaffold_split(smiles, seed=0)
    assert a != random_scaffold_split(smiles, seed=1)
    assert a != scaffold_split(smiles)


# --- random_split -------------------------------------------------------------------------------------

def test_random_split_matches_reference_shuffle() -> None:
    n, seed = 1003, 42
    rows = list(range(n))
    random.seed(seed)  # pretrain-gnns seeds the global generator
    random.shuffle(rows)
    n_train, n_valid = int(0.8 * n), int(0.1 * n)
    train, valid, test = random_split(n, 0.8, 0.1, 0.1, seed=seed)
    assert train.tolist() == rows[:n_train]
    assert valid.tolist() == rows[n_train:n_train + n_valid]
    assert test.tolist() == rows[n_train + n_valid:]


def test_random_split_takes_a_sequence_and_is_seeded() -> None:
    smiles = ["C"] * 50
    assert random_split(smiles, seed=3) == random_split(50, seed=3)
    assert random_split(50, seed=3) != random_split(50, seed=4)
    assert_partition(random_split(50), 50)
    assert [p.size for p in random_split(50, 0.5, 0.3, 0.2)] == [25, 15, 10]
    with pytest.raises(ValueError, match=">= 0"):
        random_split(-1)


# --- stratified_split ---------------------------------------------------------------------------------

def assert_stratified(split: Split, labels: np.ndarray, fracs: Fracs) -> None:
    assert_partition(split, len(labels))
    for part, frac in zip(split, fracs):
        assert abs(part.size - frac * len(labels)) < 1 + 1e-9
        assert np.all(np.diff(part) > 0)
        for c in np.unique(labels):
            in_class = int(np.sum(labels == c))
            assert abs(int(np.sum(labels[part] == c)) - frac * in_class) < 1 + 1e-9


def test_stratified_split_keeps_class_ratios_on_bbbp(bbbp) -> None:
    labels = np.array(bbbp[1])
    for fracs in [(0.8, 0.1, 0.1), (0.6, 0.25, 0.15)]:
        assert_stratified(stratified_split(labels, *fracs, seed=0), labels, fracs)


def test_stratified_split_on_awkward_class_sizes() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        sizes = rng.integers(0, 12, size=rng.integers(1, 6))
        labels = np.repeat(np.arange(sizes.size), sizes)
        rng.shuffle(labels)
        first = round(float(rng.uniform(0, 1)), 2)
        second = round(float(rng.uniform(0, 1 - first)), 2)
        fracs = (first, second, round(1 - first - second, 2))
        assert_stratified(stratified_split(labels, *fracs, seed=1), labels, fracs)


def test_stratified_split_string_labels_and_seeds() -> None:
    labels = ["active"] * 7 + ["inactive"] * 20 + ["toxic"] * 3
    split = stratified_split(labels, seed=0)
    assert_stratified(split, np.array(labels), (0.8, 0.1, 0.1))
    assert split == stratified_split(labels, seed=0)
    assert split != stratified_split(labels, seed=1)


def test_stratified_split_rejects_nan_and_2d() -> None:
    with pytest.raises(ValueError, match=r"2 missing .* rows \[1, 3\]"):
        stratified_split([0.0, float("nan"), 1.0, np.nan])
    with pytest.raises(ValueError, match="missing"):
        stratified_split(["a", None, "b"])
    with pytest.raises(ValueError, match=r"1-D .* one column"):
        stratified_split(np.zeros((10, 2)))


# --- fractions and registry ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("fracs", "message"),
    [
        ((0.8, 0.1, 0.2), "sum to 1"),
        ((0.5, 0.1, 0.1), "sum to 1"),
        ((1.2, -0.1, -0.1), "frac_valid must be a finite number >= 0"),
        ((float("nan"), 0.5, 0.5), "frac_train must be a finite number"),
    ],
)
def test_bad_fractions(fracs, message) -> None:
    cases = [(scaffold_split, ["CCO"]), (random_scaffold_split, ["CCO"]), (random_split, 5)]
    for splitter, data in [*cases, (stratified_split, [0, 1])]:
        with pytest.raises(ValueError, match=message):
            splitter(data, *fracs)


def test_fractions_summing_to_one_within_tolerance() -> None:
    assert_partition(random_split(9, 1 / 3, 1 / 3, 1 / 3), 9)


def test_registry_entries_share_one_signature(bbbp) -> None:
    smiles, labels = bbbp[0][:200], np.asarray(bbbp[1][:200], dtype=float)
    assert {"scaffold", "random_scaffold", "random", "stratified", "size", "scaffold_cluster", "property_range",
            "low_data"} <= set(SPLITTERS)
    common = dict(seed=1, sanitize="strict", workers=1, frac_train=0.8, frac_valid=0.1, frac_test=0.1)
    for name in SPLITTERS:  # every entry takes the same call, none needs a branch on its name
        split = get_splitter(name)(smiles, labels, **common)
        assert isinstance(split, Split) and np.unique(np.concatenate(list(split))).size <= len(smiles)
    assert get_splitter("scaffold")(smiles, None, **common) == scaffold_split(smiles)
    assert get_splitter("random_scaffold")(smiles, **common) == random_scaffold_split(smiles, seed=1)
    assert get_splitter("random")(smiles, **common) == random_split(len(smiles), seed=1)
    assert get_splitter("stratified")(smiles, labels[:, None], **common) == stratified_split(labels, seed=1)
    valid = "low_data, property_range, random, random_scaffold, scaffold, scaffold_cluster, size, stratified"
    with pytest.raises(ValueError, match=f"unknown splitter 'scafold'; valid splitters: {valid}"):
        get_splitter("scafold")
    with pytest.raises(ValueError, match=r"splitter 'scaffold' does not take option\(s\) \['k'\]; it takes: include_chirality"):
        get_splitter("scaffold")(smiles, k=3)
    with pytest.raises(ValueError, match="splitter 'stratified' needs labels"):
        get_splitter("stratified")(smiles)


# --- Split --------------------------------------------------------------------------------------------

def test_split_unpacks_and_round_trips_through_json() -> None:
    split = Split(np.array([4, 0, 2]), [1], np.array([], dtype=np.int64))
    train, valid, test = split
    assert train.tolist() == [4, 0, 2] and valid.tolist() == [1] and test.size == 0
    again = Split.from_dict(json.loads(json.dumps(split.to_dict())))
    assert again == split and again.train.dtype == np.int64
    assert repr(split) == "Split(train=3, valid=1, test=0)"


def test_split_is_frozen_and_read_only() -> None:
    split = Split([0, 1], [2], [3])
    with pytest.raises(ValueError):
        split.train[0] = 5
    with pytest.raises(AttributeError):
        split.train = np.array([9])  # type: ignore[misc]


def test_split_rejects_bad_parts() -> None:
    with pytest.raises(ValueError, match="overlap"):
        Split([0, 1], [1], [])
    with pytest.raises(ValueError, match="integer"):
        Split([0.5], [], [])
    with pytest.raises(ValueError, match="1-D"):
        Split([[0]], [], [])
    with pytest.raises(ValueError, match="lacks"):
        Split.from_dict({"train": [0], "valid": []})


def test_scaffold_splits_parse_leniently_when_asked():
    from molssl.data.splits import random_scaffold_split, scaffold_split

    smiles = ["CCO", "c1ccccc1CC", "F[Si](F)(F)(F)(F)F", "C1CCCCC1O", "c1ccncc1"] * 4
    with pytest.raises(ValueError, match="valence"):
        scaffold_split(smiles)
    split = scaffold_split(smiles, sanitize="lenient")
    assert sorted(i for part in split for i in part) == list(range(len(smiles)))
    split = random_scaffold_split(smiles, seed=1, sanitize="lenient")
    assert sorted(i for part in split for i in part) == list(range(len(smiles)))
