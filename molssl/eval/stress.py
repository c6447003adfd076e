"""Stress tests for any trained predictor: how predictions move when a molecule is written differently.

Each perturbation rewrites a SMILES as the same compound in another form: another atom order (randomized
SMILES; a graph model must not move at all), a salt or solvent fragment added, fragments stripped to the
parent, hydrogens made explicit or implicit, another tautomer (RDKit's ``TautomerEnumerator``), charges
neutralized (RDKit's ``Uncharger``). :func:`stress_test` predicts the originals and the rewrites and reports,
per perturbation, how many molecules it applied to, how many predictions moved, and by how much.

A predictor is anything mapping SMILES to numbers: a ``PropertyPredictor`` (its task columns are used) or a
callable returning an array of shape (n,) or (n, num_tasks), NaN where it cannot predict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from molssl.registry import Registry

Perturbation = Callable[[str, int], "str | None"]  # (SMILES, seed) -> rewritten SMILES, or None: not applicable
PERTURBATIONS: Registry[Perturbation] = Registry("perturbation")
#: a prediction "moves" when it changes by more than this (float32 noise of batching stays below)
DEFAULT_TOLERANCE = 1e-4


def _mol(smiles: str):  # noqa: ANN202 - an RDKit Mol or None
    from rdkit import Chem, rdBase

    with rdBase.BlockLogs():
        return Chem.MolFromSmiles(smiles)


@PERTURBATIONS.register("randomized_smiles")
def randomized_smiles(smiles: str, seed: int = 0) -> str | None:
    """The same molecule with its atoms written in another (seeded random) order."""
    from rdkit import Chem

    mol = _mol(smiles)
    if mol is None:
        return None
    spellings = Chem.MolToRandomSmilesVect(mol, 5, randomSeed=seed + 1)
    return next((text for text in spellings if text != smiles), None)


def _add_fragment(smiles: str, fragment: str) -> str | None:
    return f"{smiles}.{fragment}" if _mol(smiles) is not None else None


@PERTURBATIONS.register("add_salt")
def add_salt(smiles: str, seed: int = 0) -> str | None:
    """The molecule with a sodium chloride fragment beside it (as salt forms are often recorded)."""
    return _add_fragment(smiles, "[Na+].[Cl-]")


@PERTURBATIONS.register("add_water")
def add_water(smiles: str, seed: int = 0) -> str | None:
    """The molecule as a hydrate: a water fragment beside it."""
    return _add_fragment(smiles, "O")


@PERTURBATIONS.register("strip_fragments")
def strip_fragments(smiles: str, seed: int = 0) -> str | None:
    """The parent fragment alone (RDKit's ``LargestFragmentChooser``); applies to multi-fragment inputs only."""
    from rdkit import Chem
    from rdkit.Chem.MolStandardize import rdMolStandardize

    mol = _mol(smiles)
    if mol is None or len(Chem.GetMolFrags(mol)) < 2:
        return None
    return Chem.MolToSmiles(rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(mol))


@PERTURBATIONS.register("toggle_hydrogens")
def toggle_hydrogens(smiles: str, seed: int = 0) -> str | None:
    """Hydrogens written as atoms (``[H]``) when the input has none written, else written implicitly."""
    from rdkit import Chem

    mol = _mol(smiles)
    if mol is None:
        return None
    written = Chem.MolFromSmiles(smiles.strip(), sanitize=False)  # unsanitized: hydrogen atoms stay atoms
    if any(atom.GetAtomicNum() == 1 for atom in written.GetAtoms()):
        return Chem.MolToSmiles(Chem.RemoveHs(mol))
    return Chem.MolToSmiles(Chem.AddHs(mol))


@PERTURBATIONS.register("tautomer")
def tautomer(smiles: str, seed: int = 0) -> str | None:
    """Another tautomer of the molecule (RDKit's ``TautomerEnumerator``, seeded choice); None if it has one only."""
    from rdkit import Chem, rdBase
    from rdkit.Chem.MolStandardize import rdMolStandardize

    mol = _mol(smiles)
    if mol is None:
        return None
    enumerator = rdMolStandardize.TautomerEnumerator()
    enumerator.SetMaxTautomers(64)
    with rdBase.BlockLogs():
        original = Chem.MolToSmiles(mol)
        others = sorted({Chem.MolToSmiles(t) for t in enumerator.Enumerate(mol)} - {original})
    return others[np.random.default_rng(seed).integers(len(others))] if others else None


@PERTURBATIONS.register("neutralize")
def neutralize(smiles: str, seed: int = 0) -> str | None:
    """Charges neutralized where a proton can do it (RDKit's ``Uncharger``); None if nothing changes."""
    from rdkit import Chem
    from rdkit.Chem.MolStandardize import rdMolStandardize

    mol = _mol(smiles)
    if mol is None:
        return None
    neutral = Chem.MolToSmiles(rdMolStandardize.Uncharger().uncharge(mol))
    return neutral if neutral != Chem.MolToSmiles(mol) else None


@dataclass(frozen=True)
class StressResult:
    """How one perturbation moved the predictions.

    Attributes:
        perturbation: its name.
        applicable: molecules it rewrote (others are left out: no salt to strip, one tautomer only, ...).
        predicted: of those, molecules predicted both before and after.
        failed: rewrites the predictor could not predict although it predicted the original.
        moved: predicted molecules whose prediction changed by more than ``tolerance`` in any task.
        mean_abs_change, median_abs_change, max_abs_change: over predicted molecules and tasks.
        flipped: classification decisions (at ``threshold``) that changed; None without a threshold.
        moved_rows: input positions of the molecules that moved.
    """

    perturbation: str
    applicable: int
    predicted: int
    failed: int
    moved: int
    mean_abs_change: float
    median_abs_change: float
    max_abs_change: float
    flipped: int | None
    moved_rows: tuple[int, ...] = ()

    @property
    def moved_fraction(self) -> float:
        return self.moved / self.predicted if self.predicted else float("nan")


def as_predict_function(model: Any) -> Callable[[Sequence[str]], np.ndarray]:
    """A SMILES -> (n, num_tasks) array function from a ``PropertyPredictor`` or a callable."""
    task_names = getattr(getattr(getattr(model, "model_", None), "config", None), "task_names", None)
    if task_names is not None and hasattr(model, "predict"):
        def predict(smiles: Sequence[str]) -> np.ndarray:
            return model.predict(list(smiles))[list(task_names)].to_numpy(dtype=np.float64)

        return predict
    if callable(model):
        return model
    raise ValueError(f"cannot predict with a {type(model).__name__}: pass a fitted PropertyPredictor or a SMILES -> array function")


def stress_test(
    model: Any,
    smiles: Sequence[str],
    perturbations: Sequence[str] | None = None,
    seed: int = 0,
    tolerance: float = DEFAULT_TOLERANCE,
    threshold: float | None = None,
) -> list[StressResult]:
    """Predict ``smiles`` and their perturbed forms; one result per perturbation.

    Args:
        model: a fitted ``PropertyPredictor`` or a function SMILES -> array (n,) or (n, num_tasks).
        smiles: the molecules to perturb.
        perturbations: names in :data:`PERTURBATIONS` (default all).
        seed: seed of the random rewrites (atom order, tautomer choice).
        tolerance: the absolute change above which a prediction counts as moved.
        threshold: for classifiers, the decision threshold whose flips to count (e.g. 0.5).

    Shapes:
        - the model's output: (n,) or (n, num_tasks)
    """
    predict = as_predict_function(model)
    names = list(perturbations) if perturbations is not None else list(PERTURBATIONS)
    smiles = list(smiles)
    base = _as_2d(predict(smiles), len(smiles))
    results = []
    for name in names:
        rewrite = PERTURBATIONS[name]
        rewritten = [(i, rewrite(s, seed)) for i, s in enumerate(smiles)]
        rows = np.array([i for i, s in rewritten if s is not None], dtype=np.int64)
        texts = [s for _, s in rewritten if s is not None]
        after = _as_2d(predict(texts), len(texts)) if texts else np.zeros((0, base.shape[1]))
        before = base[rows]
        known = ~np.isnan(before).any(axis=1)
        both = known & ~np.isnan(after).any(axis=1)
        change = np.abs(after[both] - before[both])
        moved = (change > tolerance).any(axis=1)
        flipped = None
        if threshold is not None:
            flipped = int(((after[both] >= threshold) != (before[both] >= threshold)).any(axis=1).sum())
        results.append(StressResult(
            perturbation=name, applicable=int(rows.size), predicted=int(both.sum()), failed=int((known & ~both).sum()),
            moved=int(moved.sum()), moved_rows=tuple(rows[both][moved].tolist()),
            mean_abs_change=float(change.mean()) if change.size else 0.0,
            median_abs_change=float(np.median(change)) if change.size else 0.0,
            max_abs_change=float(change.max()) if change.size else 0.0, flipped=flipped,
        ))  # fmt: skip
    return results


def stress_table(results: Sequence[StressResult]) -> str:
    """The results as a Markdown table."""
    lines = ["| perturbation | applicable | predicted | failed | moved | moved % | mean abs change | max abs change | flipped |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        lines.append(f"| {r.perturbation} | {r.applicable} | {r.predicted} | {r.failed} | {r.moved} | {100 * r.moved_fraction:.1f} "
                     f"| {r.mean_abs_change:.3g} | {r.max_abs_change:.3g} | {'' if r.flipped is None else r.flipped} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _as_2d(values: Any, n: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    array = array[:, None] if array.ndim == 1 else array
    if array.ndim != 2 or array.shape[0] != n:
        raise ValueError(f"the predictor returned shape {np.shape(values)} for {n} molecules; expected (n,) or (n, num_tasks)")
    return array
