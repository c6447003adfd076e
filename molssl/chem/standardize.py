"""Molecule standardization before featurization: keep the parent fragment (strip salts and solvents).

A fine-tuned model records the standardizer it was trained with, and prediction applies the same one,
so a salt form and its parent get the same prediction. The fragment is chosen by RDKit's
``rdMolStandardize.LargestFragmentChooser`` (preferring organic fragments, then the most atoms), the
choice of the ChEMBL structure pipeline and chemprop's users' usual preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

#: registered standardizers: ``none`` leaves SMILES as they are
STANDARDIZERS: tuple[str, ...] = ("none", "largest_fragment")


@dataclass(frozen=True)
class StandardizedSmiles:
    """SMILES after standardization, and which inputs it changed.

    Attributes:
        smiles: one per input, in order (unchanged where nothing was stripped or parsing failed).
        changed: (input index, original SMILES) of every input that was rewritten.
    """

    smiles: list[str]
    changed: list[tuple[int, str]]


def check_standardizer(name: str | None) -> str:
    """The standardizer's name (``None`` means ``"none"``); an unknown one lists the valid ones."""
    name = "none" if name is None else name
    if name not in STANDARDIZERS:
        raise ValueError(f"unknown standardizer {name!r}; valid standardizers: {', '.join(STANDARDIZERS)}")
    return name


def standardize_smiles(smiles: Sequence[str], standardizer: str | None) -> StandardizedSmiles:
    """Apply ``standardizer`` to every SMILES.

    Only SMILES with more than one fragment (a ``.``) are parsed; a SMILES RDKit cannot parse is left as
    it is, so the featurizer reports it with its reason. The kept fragment is written as RDKit's
    canonical SMILES.
    """
    name = check_standardizer(standardizer)
    out = list(smiles)
    changed: list[tuple[int, str]] = []
    if name == "none":
        return StandardizedSmiles(out, changed)
    from rdkit import Chem, rdBase
    from rdkit.Chem.MolStandardize import rdMolStandardize

    chooser = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
    with rdBase.BlockLogs():
        for i, text in enumerate(out):
            if not isinstance(text, str) or "." not in text:
                continue
            mol = Chem.MolFromSmiles(text.strip())
            if mol is None or len(Chem.GetMolFrags(mol)) < 2:
                continue
            out[i] = Chem.MolToSmiles(chooser.choose(mol))
            changed.append((i, text))
    return StandardizedSmiles(out, changed)


__all__ = ["STANDARDIZERS", "StandardizedSmiles", "check_standardizer", "standardize_smiles"]
