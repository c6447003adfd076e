"""The splitter registry: every splitter by name, all with one call signature.

Callers never branch on a splitter's name: each entry takes the molecules, their labels (or None), the three
fractions, a seed, the parse mode, worker processes and its own keyword options, and uses what it needs
(the deterministic splitters ignore ``seed``; only the label-driven ones need ``labels``)::

    split = get_splitter(name)(smiles, labels, seed=0, sanitize="strict", frac_train=0.8, frac_valid=0.1, frac_test=0.1)

Options that only one splitter has (``k`` of ``low_data``, ``threshold`` of ``scaffold_cluster``, ...) are
keyword arguments of that entry; an option the entry does not take is an error naming the ones it does.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np

from molssl.data import splits, splits_ood
from molssl.data.splits import Split
from molssl.registry import Registry


class Splitter(Protocol):
    """The one signature of a registered splitter.

    Shapes:
        - labels: (n,) or (n, num_tasks), NaN = unlabelled; None where the splitter needs none
    """

    def __call__(self, smiles: Sequence[str], labels: np.ndarray | None = None, *, frac_train: float = 0.8,
                 frac_valid: float = 0.1, frac_test: float = 0.1, seed: int = 0, sanitize: str = "strict",
                 workers: int = 1, **options: Any) -> Split: ...  # fmt: skip


SPLITTERS: Registry[Splitter] = Registry("splitter")


def get_splitter(name: str) -> Splitter:
    """The splitter registered under ``name``; an unknown name raises a ValueError listing the valid ones."""
    return SPLITTERS[name]


def _takes(name: str, options: dict[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "no options"
        raise ValueError(f"splitter {name!r} does not take option(s) {unknown}; it takes: {takes}")


def _need_labels(name: str, labels: np.ndarray | None) -> np.ndarray:
    if labels is None:
        raise ValueError(f"splitter {name!r} needs labels; pass the label array (or --label-column on the command line)")
    return np.asarray(labels)


@SPLITTERS.register("scaffold")
def _scaffold(smiles: Sequence[str], labels: np.ndarray | None = None, *, frac_train: float = 0.8, frac_valid: float = 0.1,
    frac_test: float = 0.1, seed: int = 0, sanitize: str = "strict", workers: int = 1, **options: Any,
) -> Split:
    """Deterministic Bemis-Murcko scaffold split (``seed`` unused); option ``include_chirality``."""
    _takes("scaffold", options, ("include_chirality",))
    return splits.scaffold_split(smiles, frac_train, frac_valid, frac_test, workers=workers, sanitize=sanitize, **options)


@SPLITTERS.register("random_scaffold")
def _random_scaffold(smiles: Sequence[str], labels: np.ndarray | None = None, *, frac_train: float = 0.8, frac_valid: float = 0.1,
    frac_test: float = 0.1, seed: int = 0, sanitize: str = "strict", workers: int = 1, **options: Any,
) -> Split:
    """Scaffold groups in seeded random order; option ``include_chirality``."""
    _takes("random_scaffold", options, ("include_chirality",))
    return splits.random_scaffold_split(smiles, frac_train, frac_valid, frac_test, seed=seed, workers=workers, sanitize=sanitize, **options)


@SPLITTERS.register("random")
def _random(smiles: Sequence[str], labels: np.ndarray | None = None, *, frac_train: float = 0.8, frac_valid: float = 0.1,
    frac_test: float = 0.1, seed: int = 0, sanitize: str = "strict", workers: int = 1, **options: Any,
) -> Split:
    """Uniformly random rows, as pretrain-gnns draws them."""
    _takes("random", options, ())
    return splits.random_split(len(smiles), frac_train, frac_valid, frac_test, seed=seed)


@SPLITTERS.register("stratified")
def _stratified(smiles: Sequence[str], labels: np.ndarray | None = None, *, frac_train: float = 0.8, frac_valid: float = 0.1,
    frac_test: float = 0.1, seed: int = 0, sanitize: str = "strict", workers: int = 1, **options: Any,
) -> Split:
    """Class shares kept in every part, by the labels of column ``task`` (option, default 0)."""
    _takes("stratified", options, ("task",))
    y = _need_labels("stratified", labels)
    column = y[:, int(options.get("task", 0))] if y.ndim == 2 else y
    return splits.stratified_split(column, frac_train, frac_valid, frac_test, seed=seed)


@SPLITTERS.register("size")
def _size(smiles: Sequence[str], labels: np.ndarray | None = None, *, frac_train: float = 0.8, frac_valid: float = 0.1,
    frac_test: float = 0.1, seed: int = 0, sanitize: str = "strict", workers: int = 1, **options: Any,
) -> Split:
    """Small molecules train, large ones test (``seed`` unused); option ``largest_in_test`` (default True)."""
    _takes("size", options, ("largest_in_test",))
    return splits_ood.size_split(smiles, frac_train, frac_valid, frac_test, sanitize=sanitize, **options)


@SPLITTERS.register("scaffold_cluster")
def _scaffold_cluster(smiles: Sequence[str], labels: np.ndarray | None = None, *, frac_train: float = 0.8, frac_valid: float = 0.1,
    frac_test: float = 0.1, seed: int = 0, sanitize: str = "strict", workers: int = 1, **options: Any,
) -> Split:
    """Whole clusters of similar scaffolds held out; options ``threshold`` (0.6), ``linkage`` (butina, single)."""
    _takes("scaffold_cluster", options, ("threshold", "linkage"))
    return splits_ood.scaffold_cluster_split(smiles, frac_train, frac_valid, frac_test, seed=seed, workers=workers,
                                             sanitize=sanitize, **options)  # fmt: skip


@SPLITTERS.register("property_range")
def _property_range(smiles: Sequence[str], labels: np.ndarray | None = None, *, frac_train: float = 0.8, frac_valid: float = 0.1,
    frac_test: float = 0.1, seed: int = 0, sanitize: str = "strict", workers: int = 1, **options: Any,
) -> Split:
    """Test on the tail of one task's labels (``seed`` unused); options ``task`` (0), ``tail`` (upper, lower)."""
    _takes("property_range", options, ("task", "tail"))
    y = _need_labels("property_range", labels)
    if len(y) != len(smiles):
        raise ValueError(f"labels have {len(y)} rows for {len(smiles)} molecules")
    return splits_ood.property_range_split(y, frac_train, frac_valid, frac_test, **options)


@SPLITTERS.register("low_data")
def _low_data(smiles: Sequence[str], labels: np.ndarray | None = None, *, frac_train: float = 0.8, frac_valid: float = 0.1,
    frac_test: float = 0.1, seed: int = 0, sanitize: str = "strict", workers: int = 1, **options: Any,
) -> Split:
    """``k`` (option, default 16) labelled molecules per task from a base split's train part; ``seed`` = the draw.

    Option ``base`` names the registered splitter whose valid and test parts are kept (default ``scaffold``).
    """
    _takes("low_data", options, ("k", "base"))
    y = _need_labels("low_data", labels)
    base_name = str(options.get("base", "scaffold"))
    if base_name == "low_data":
        raise ValueError("low_data's base must be another splitter, e.g. scaffold")
    base = get_splitter(base_name)(smiles, labels, frac_train=frac_train, frac_valid=frac_valid, frac_test=frac_test,
                                   seed=0, sanitize=sanitize, workers=workers)  # fmt: skip
    return splits_ood.low_data_split(base, y, int(options.get("k", 16)), seed=seed)


__all__ = ["SPLITTERS", "Splitter", "get_splitter"]
